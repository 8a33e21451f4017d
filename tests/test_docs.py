"""Every code sample in docs/*.md is run or checked here, so the docs cannot drift from the code.

The fence's info string says what happens to a sample:

* ``python run``: executed. The runnable samples of one page run in order, in
  one module of the ``tests.docsapp`` app (so ``from .models import ...``
  finds ``tests/docsapp/models.py``), against the test database; the flows
  they declare must pass the system checks.
* ``python file=<path>``: the sample is (a part of) a shipped file, which its
  own tests run; it must appear in that file verbatim (blank lines aside).
* ``python``: a fragment; it must compile.
* ``django``: a template; it must parse (with the viewflow tags loadable);
  ``django file=<path>`` must also appear in that file.
* ``sh``: commands. ``python manage.py <command> ...`` lines must name a
  command that exists and options it accepts (a few harmless ones are run);
  ``celery ...`` lines must use options the installed Celery accepts; other
  lines must be one of a few known tools; a ``curl`` line's URL must lead to a view
  of the tests' URLconf (which mounts what the demo mounts).
"""

from __future__ import annotations

import re
import shlex
import sys
import textwrap
import types
from io import StringIO
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def samples(path, kind=None):
    """``(info, code, line)`` of each fenced block of ``path`` whose language is ``kind``."""
    text = path.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        info = match.group(1).strip()
        language = info.split()[0] if info else ""
        if kind is None or language == kind:
            yield info, match.group(2), text.count("\n", 0, match.start()) + 2


def ids(paths):
    return [path.name for path in paths]


def test_docs_exist_and_every_sample_is_tagged():
    names = {path.name for path in DOCS}
    for page in ("index.md", "tutorial.md", "nodes.md", "views.md", "permissions.md", "locks.md", "celery.md",
                 "templates.md", "templatetags.md", "admin.md", "commands.md", "checks.md", "signals.md",
                 "upgrading.md", "testing.md"):
        assert page in names
    for path in DOCS:
        for info, _code, line in samples(path):
            assert info.split()[0] in ("python", "django", "sh", "text"), f"{path.name}:{line}: untagged sample"


def test_every_page_is_linked_from_the_index():
    index = (ROOT / "docs" / "index.md").read_text()
    for path in DOCS:
        if path.name != "index.md":
            assert f"({path.name})" in index, f"index.md does not link {path.name}"


@pytest.mark.parametrize("path", DOCS, ids=ids(DOCS))
def test_python_samples_compile(path):
    for _info, code, line in samples(path, "python"):
        compile(textwrap.dedent(code), f"{path.name}:{line}", "exec")  # a method shown alone is indented


def _normalise(code):
    return "\n".join(line.rstrip() for line in code.strip().splitlines() if line.strip())


@pytest.mark.parametrize("path", DOCS, ids=ids(DOCS))
def test_file_samples_are_the_shipped_files(path):
    for info, code, line in samples(path):
        options = dict(word.split("=", 1) for word in info.split()[1:] if "=" in word)
        if "file" in options:
            shipped = (ROOT / options["file"]).read_text(encoding="utf-8")
            assert _normalise(code) in _normalise(shipped), f"{path.name}:{line} differs from {options['file']}"


RUNNABLE = [path for path in DOCS if any("run" in info.split()[1:] for info, _c, _l in samples(path, "python"))]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", RUNNABLE, ids=ids(RUNNABLE))
def test_runnable_samples_run(path):
    from viewflow.base import Flow
    from viewflow.checks import check_flow
    from viewflow.permissions import create_flow_permissions

    name = f"tests.docsapp.docs_{path.stem}"
    module = types.ModuleType(name)
    module.__package__ = "tests.docsapp"
    module.__file__ = str(path)
    sys.modules[name] = module  # flows are stored by dotted path: it must import
    try:
        for info, code, line in samples(path, "python"):
            if "run" not in info.split()[1:]:
                continue
            # line numbers in tracebacks point into the Markdown file
            exec(compile("\n" * (line - 1) + code, str(path), "exec"), module.__dict__)
            create_flow_permissions()  # what migrate would do for the flows just declared
        flows = [
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Flow) and value.__module__ == name
        ]
        for flow_class in flows:
            assert check_flow(flow_class) == [], f"{path.name}: {flow_class.__name__} fails the checks"
    finally:
        sys.modules.pop(name, None)


@pytest.mark.parametrize("path", DOCS, ids=ids(DOCS))
def test_template_samples_parse(path):
    from django.template import engines

    engine = engines["django"]
    for _info, code, line in samples(path, "django"):
        try:
            engine.from_string(code)
        except Exception as exc:  # noqa: BLE001  (any parse error fails, with where it is)
            pytest.fail(f"{path.name}:{line}: {exc}")


#: commands that change nothing and are quick: run for real, their output checked to be non-empty
RUN_COMMANDS = {"flow_chart", "list_tasks", "check"}
#: programs whose lines are shown but not run (installing, starting servers)
OTHER_TOOLS = ("pip ", "make ", "cd ", "export ", "django-admin ", "createdb ", "redis-server", "systemctl ", "pytest ")


def _command_lines(code):
    joined = code.replace("\\\n", " ")
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            yield line


@pytest.mark.django_db
@pytest.mark.parametrize("path", DOCS, ids=ids(DOCS))
def test_shell_samples(path, tmp_path, monkeypatch):
    from django.core.management import call_command, get_commands, load_command_class

    monkeypatch.chdir(tmp_path)  # files a sample writes (a chart) land here
    for _info, code, line in samples(path, "sh"):
        for command_line in _command_lines(code):
            words = shlex.split(command_line)
            where = f"{path.name}:{line}: {command_line}"
            if words[:2] == ["python", "manage.py"]:
                name, args = words[2], words[3:]
                commands = get_commands()
                assert name in commands, f"{where}: no such command"
                command = load_command_class(commands[name], name)
                command.create_parser("manage.py", name).parse_args(args)  # raises on a bad option
                if name in RUN_COMMANDS or (name == "retry_tasks" and "--dry-run" in args):
                    out = StringIO()
                    call_command(name, *args, stdout=out, stderr=StringIO())
            elif words[0] == "celery":
                _check_celery_line(words, where)
            elif words[0] == "curl":
                _check_curl_line(words, where)
            else:
                assert command_line.startswith(OTHER_TOOLS), f"{where}: unknown tool"


def _check_curl_line(words, where):
    """A ``curl`` line's URL resolves (its path, under the tests' URLconf)."""
    from urllib.parse import urlsplit

    from django.urls import Resolver404, resolve

    urls = [word for word in words if word.startswith(("http://", "https://"))]
    assert urls, f"{where}: no URL"
    for url in urls:
        try:
            resolve(urlsplit(url).path)
        except Resolver404:
            pytest.fail(f"{where}: {url} leads nowhere")


def _check_celery_line(words, where):
    """Parse a ``celery -A app <command> --options`` line with Celery's own CLI (nothing runs)."""
    from celery.bin.celery import celery as cli

    group_args, rest = [], list(words[1:])
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        group_args.append(option)
        if option in ("-A", "--app", "-b", "--broker") and "=" not in option:
            group_args.append(rest.pop(0))
    assert rest, f"{where}: no celery command"
    name, sub_args = rest[0], rest[1:]
    command = cli.commands.get(name)
    assert command is not None, f"{where}: celery has no command {name!r}"
    from celery import current_app
    from celery.bin.base import CLIContext

    context = cli.make_context("celery", group_args + [name], resilient_parsing=True)
    context.obj = CLIContext(app=current_app, no_color=True, workdir=None, quiet=True)  # what -A would load
    command.make_context(name, sub_args, parent=context)  # raises click.UsageError on a bad option


def test_changelog_names_the_current_version():
    import viewflow

    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first = re.search(r"^## (?!Unreleased)(\S+)", changelog, re.M)  # the first released version
    assert first is not None and first.group(1) == viewflow.__version__

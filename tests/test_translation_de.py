"""The German translation: a complete, well-formed catalog, compiled, and used by the site's pages."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.utils import timezone, translation

import viewflow
from helloworld.flows import HelloWorldFlow
from helloworld.models import HelloWorldProcess
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus

MESSAGES = Path(viewflow.__file__).resolve().parent / "locale" / "de" / "LC_MESSAGES"
PO, MO = MESSAGES / "django.po", MESSAGES / "django.mo"
#: python-format placeholders: %(name)s, %s, %d, %r, ... (``%%`` is a literal percent sign)
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def parse_po(text):
    """The entries of a .po file: dicts of ``msgid``, ``msgid_plural``, ``msgstr`` (a list) and ``flags``."""
    entries = []
    for block in re.split(r"\n\s*\n", text.strip()):
        entry, field, flags = {"msgstr": {}}, None, set()
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#") or not line:
                continue
            elif line.startswith('"'):
                value = ast.literal_eval(line)
                if isinstance(field, int):
                    entry["msgstr"][field] += value
                else:
                    entry[field] += value
            else:
                keyword, _, value = line.partition(" ")
                value = ast.literal_eval(value)
                plural = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
                if plural or keyword == "msgstr":
                    field = int(plural.group(1)) if plural else 0
                    entry["msgstr"][field] = value
                else:
                    field = keyword
                    entry[field] = value
        if "msgid" in entry:
            entry["msgstr"] = [entry["msgstr"][index] for index in sorted(entry["msgstr"])]
            entry["flags"] = flags
            entries.append(entry)
    return entries


def placeholders(text):
    return sorted(found for found in PLACEHOLDER.findall(text) if found != "%%")


@pytest.fixture(scope="module")
def entries():
    return parse_po(PO.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def messages(entries):
    """The entries without the header (whose msgid is empty)."""
    return [entry for entry in entries if entry["msgid"]]


def test_the_header_describes_german(entries):
    header = entries[0]
    assert header["msgid"] == "" and "fuzzy" not in header["flags"]
    assert "Language: de\n" in header["msgstr"][0]
    assert "Content-Type: text/plain; charset=UTF-8\n" in header["msgstr"][0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);\n" in header["msgstr"][0]


def test_every_message_is_translated_and_not_fuzzy(messages):
    assert len(messages) > 150
    assert [entry["msgid"] for entry in messages if "fuzzy" in entry["flags"]] == []
    assert [entry["msgid"] for entry in messages if not all(entry["msgstr"]) or not entry["msgstr"]] == []
    plurals = [entry for entry in messages if "msgid_plural" in entry]
    assert plurals and all(len(entry["msgstr"]) == 2 for entry in plurals)
    assert all(len(entry["msgstr"]) == 1 for entry in messages if "msgid_plural" not in entry)


def test_translations_keep_the_placeholders(messages):
    wrong = []
    for entry in messages:
        sources = [entry["msgid"], entry.get("msgid_plural", entry["msgid"])]
        for index, translated in enumerate(entry["msgstr"]):
            if placeholders(translated) != placeholders(sources[min(index, 1)]):
                wrong.append((entry["msgid"], translated))
    assert wrong == []
    assert all("python-format" in entry["flags"] for entry in messages if placeholders(entry["msgid"]))


def test_the_placeholder_check_finds_mistakes():
    assert placeholders("%(task)s is done, 100%% sure, %d left") == ["%(task)s", "%d"]
    assert placeholders("%(task)s ist erledigt") != placeholders("%(process)s is done")


def test_the_compiled_catalog_matches_the_po(messages):
    with MO.open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    assert catalog.info()["language"] == "de"
    expected = {}
    for entry in messages:
        # gettext keys a message with a context as "context\x04msgid"
        msgid = f"{entry['msgctxt']}\x04{entry['msgid']}" if "msgctxt" in entry else entry["msgid"]
        if "msgid_plural" in entry:
            expected.update({(msgid, index): text for index, text in enumerate(entry["msgstr"])})
        else:
            expected[msgid] = entry["msgstr"][0]
    compiled = {key: value for key, value in catalog._catalog.items() if key != ""}
    assert compiled == expected
    assert catalog.ngettext("%d day", "%d days", 1) == "%d Tag"
    assert catalog.ngettext("%d day", "%d days", 3) == "%d Tage"


def test_django_uses_the_german_catalog():
    with translation.override("de"):
        assert translation.gettext("Inbox") == "Posteingang"
        assert translation.ngettext("%d task canceled.", "%d tasks canceled.", 2) % 2 == "2 Aufgaben abgebrochen."
        assert translation.pgettext("cannot be …", "assigned") == "zugewiesen"
    assert translation.gettext("Inbox") == "Inbox"


@pytest.fixture
def approver(user_factory):
    return user_factory("approver", "helloworld.can_approve_helloworldprocess", "helloworld.view_helloworldprocess")


def german_page(client, url):
    """The page at ``url`` as a German reader gets it (it must answer 200)."""
    with translation.override("de"):
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_flow_list_is_german(approver, client_for):
    page = german_page(client_for(approver), "/flows/")
    for word in ("Abläufe", "Posteingang", "Warteschlange", "Archiv", "Abmelden", "Vorgänge"):
        assert word in page, word
    assert "Log out" not in page and ">Inbox<" not in page


def test_the_inbox_is_german(approver, client_for):
    client = client_for(approver)
    assert "Nichts zu tun: Ihnen ist keine Aufgabe zugewiesen." in german_page(client, "/flows/inbox/")

    process = HelloWorldProcess.objects.create(flow_class=HelloWorldFlow, status=ProcessStatus.STARTED, text="hallo")
    Task.objects.create(
        process=process,
        flow_task=HelloWorldFlow.approve,
        flow_task_type="HUMAN",
        owner_permission="helloworld.can_approve_helloworldprocess",
        status=TaskStatus.ASSIGNED,
        owner=approver,
        created=timezone.now(),
    )
    page = german_page(client, "/flows/inbox/")
    for word in ("Posteingang", "Aufgabe", "Vorgang", "Wartet seit", "Öffnen", "Zugewiesen"):
        assert word in page, word
    assert "Waiting since" not in page


def test_the_process_page_says_verlauf_although_the_admin_translates_history_first(approver, client_for):
    """django.contrib.admin comes first in INSTALLED_APPS and has its own "History": ours carries a context."""
    process = HelloWorldProcess.objects.create(flow_class=HelloWorldFlow, status=ProcessStatus.STARTED, text="hallo")
    page = german_page(client_for(approver), f"/flows/helloworld/{process.pk}/")
    assert "Verlauf" in page and "Geschichte" not in page


def test_the_demo_speaks_the_browsers_language(approver, client, settings):
    """The demo's middleware picks the language from Accept-Language: German comes with the package."""
    import importlib

    settings.MIDDLEWARE = importlib.import_module("demo.settings").MIDDLEWARE
    with translation.override(settings.LANGUAGE_CODE):  # the middleware leaves its language active
        page = client.get("/flows/login/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
        assert 'lang="de"' in page and "Anmelden" in page
        assert 'lang="en' in client.get("/flows/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

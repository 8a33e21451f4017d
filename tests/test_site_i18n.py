"""Every word the site's templates show goes through gettext ({% trans %} / {% blocktrans %})."""

import re
from pathlib import Path

import viewflow

TEMPLATES = Path(viewflow.__file__).resolve().parent / "templates" / "viewflow"
#: attributes people read (or hear): their text must be translated too
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


def untranslated(source):
    """Bits of plain text in a template that no translation tag covers."""
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", source, flags=re.S)
    text = re.sub(r"{#.*?#}", " ", text, flags=re.S)
    text = re.sub(r"{%\s*blocktrans.*?{%\s*endblocktrans\s*%}", " ", text, flags=re.S)
    found = []
    for attribute in READ_ATTRIBUTES:
        for value in re.findall(rf'\s{attribute}="([^"]*)"', text):
            rest = re.sub(r"{%.*?%}|{{.*?}}", "", value)
            if re.search(r"[A-Za-z]", rest):
                found.append(f'{attribute}="{value}"')
    text = re.sub(r"{%.*?%}|{{.*?}}", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    found += [bit.strip() for bit in re.split(r"\s{2,}|\n", text) if re.search(r"[A-Za-z]", bit)]
    return found


def test_templates_have_no_untranslated_text():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 10
    problems = {str(path.relative_to(TEMPLATES)): untranslated(path.read_text()) for path in templates}
    problems = {name: bits for name, bits in problems.items() if bits}
    assert problems == {}


def test_the_check_finds_plain_text():
    assert untranslated("<p>Hello</p>") == ["Hello"]
    assert untranslated('<a title="Open">{% trans "x" %}</a>') == ['title="Open"']
    assert untranslated('<p>{% trans "Hello" %} {{ name }} &rarr; #{{ pk }}</p>') == []
    assert untranslated("{% blocktrans %}Hi {{ n }}{% endblocktrans %}") == []

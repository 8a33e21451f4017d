"""Walk the site as a person does: follow links by their text, submit forms by their button.

``Visitor`` wraps a test client that enforces CSRF like a browser's session
would; no URL is typed except the first one. Pages are parsed with the
standard library's HTML parser, so a link or a button that is not on the page
cannot be used.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin

from django.test import Client

__all__ = ["Visitor"]


def _text(value):
    return re.sub(r"\s+", " ", value).strip()


class _Parser(HTMLParser):
    """Collect links (href, text) and forms (action, method, fields, buttons)."""

    def __init__(self):
        super().__init__()
        self.links = []
        self.forms = []
        self._link = None
        self._form = None
        self._button = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "href" in attrs:
            self._link = [attrs["href"], ""]
        elif tag == "form":
            self._form = {
                "action": attrs.get("action") or "",
                "method": (attrs.get("method") or "get").lower(),
                "fields": [],
                "buttons": [],
            }
            self.forms.append(self._form)
        elif self._form is not None and tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button"):
                self._form["buttons"].append((attrs.get("value", ""), attrs.get("name"), attrs.get("value", "")))
            elif kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self._form["fields"].append((attrs.get("name"), attrs.get("value", "on")))
            elif attrs.get("name"):
                self._form["fields"].append((attrs["name"], attrs.get("value", "")))
        elif self._form is not None and tag == "button":
            self._button = [attrs.get("name"), attrs.get("value", ""), "", (attrs.get("type") or "submit").lower()]
        elif self._form is not None and tag in ("textarea", "select") and attrs.get("name"):
            self._form["fields"].append((attrs["name"], ""))

    def handle_data(self, data):
        if self._link is not None:
            self._link[1] += data
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            self.links.append((self._link[0], _text(self._link[1])))
            self._link = None
        elif tag == "button" and self._button is not None:
            name, value, text, kind = self._button
            if kind == "submit":
                self._form["buttons"].append((_text(text), name, value))
            self._button = None
        elif tag == "form":
            self._form = None


class Visitor:
    """A person with a browser: ``open(url)``, then ``follow(text)`` and ``submit(button, **fields)``."""

    def __init__(self, user=None, password=None):
        self.client = Client(enforce_csrf_checks=True)
        self.response = None
        self.url = None
        self.redirects = []

    # -- what the page shows ----------------------------------------------------------------

    @property
    def status(self):
        return self.response.status_code

    @property
    def html(self):
        return self.response.content.decode()

    @property
    def text(self):
        return _text(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(script|style|svg).*?</\1>", " ", self.html)))

    def _parsed(self):
        parser = _Parser()
        parser.feed(self.html)
        return parser

    def links(self):
        return self._parsed().links

    # -- what the person does ---------------------------------------------------------------

    def open(self, url):
        return self._go(self.client.get(url, follow=True), url)

    def follow(self, text, nth=0):
        """Click the ``nth`` link whose text contains ``text`` (or matches it, if a compiled regex)."""
        matches = [
            href for href, label in self.links() if (text.search(label) if hasattr(text, "search") else text in label)
        ]
        assert len(matches) > nth, f"no link {text!r} on {self.url}: {[label for _, label in self.links()]}"
        url = urljoin(self.url, matches[nth])
        return self._go(self.client.get(url, follow=True), url)

    def submit(self, button, **fields):
        """Fill ``fields`` (True/False tick or untick a checkbox) and press the button labelled ``button``."""
        for form in self._parsed().forms:
            for label, name, value in form["buttons"]:
                if button in label:
                    data = {}
                    for key, val in form["fields"]:
                        data.setdefault(key, []).append(val)
                    for key, val in fields.items():
                        if val is False:
                            data.pop(key, None)
                        else:
                            data[key] = ["on" if val is True else val]
                    if name:
                        data[name] = [value]
                    url = urljoin(self.url, form["action"] or self.url)
                    if form["method"] == "post":
                        response = self.client.post(url, data, follow=True)
                    else:
                        response = self.client.get(url, data, follow=True)
                    return self._go(response, url)
        buttons = [label for form in self._parsed().forms for label, _, _ in form["buttons"]]
        raise AssertionError(f"no button {button!r} on {self.url}: {buttons}")

    def _go(self, response, url):
        self.response = response
        self.redirects = [target for target, _ in response.redirect_chain]
        self.url = self.redirects[-1] if self.redirects else url
        return self

"""Reading server-rendered pages in tests: the text a person sees, the links and the GET forms.

The standard library's HTML parser is enough: our pages are our own, well-formed templates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Elements whose content is not shown as text.
_HIDDEN = {"script", "style", "template", "noscript", "head"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # inputs and textareas, with their values
    selects: dict[str, list[str]] = field(default_factory=dict)  # name → option values, in order
    selected: dict[str, str] = field(default_factory=dict)  # name → the value a browser would send


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._hidden = 0
        self._select: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
            self._in_form = True
        elif self._in_form and tag == "input" and a.get("name") and "disabled" not in a:
            kind = a.get("type", "text").lower()
            unticked = kind in {"checkbox", "radio"} and "checked" not in a
            if not unticked and kind not in {"submit", "button", "file", "image", "reset"}:
                self.forms[-1].fields.append((a["name"], a.get("value", "")))
        elif self._in_form and tag == "select" and a.get("name"):
            self._select = a["name"]
            self.forms[-1].selects[self._select] = []
        elif tag == "option" and self._select is not None and "value" in a:
            self._add_option(a["value"], "selected" in a)
        if tag in {"br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "option", "dt", "dd"}:
            self.text.append("\n")

    def _add_option(self, value: str, selected: bool) -> None:
        form, name = self.forms[-1], self._select or ""
        form.selects[name].append(value)
        if selected or name not in form.selected:
            form.selected[name] = value

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False
        if tag not in _VOID:
            self.text.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def visible_text(html: str) -> str:
    """The words a person reads: no tags, attributes, scripts or styles; all white space one space."""
    return re.sub(r"\s+", " ", "".join(parse(html).text)).strip()


def csrf_token(html: str) -> str:
    """The CSRF token a signed-in page carries in its forms (what a test posts back)."""
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, "a signed-in page carries its CSRF token in its forms"
    return found.group(1)

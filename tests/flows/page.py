"""Read an HTML page the way the tests need it: elements with their attributes, and their texts."""

from __future__ import annotations

import html as html_mod
import re
from dataclasses import dataclass
from html.parser import HTMLParser

_VOID = {"input", "meta", "link", "br", "img", "path", "hr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for element in self._open:
            element.text += data

    def all(self, tag: str, **attrs: str) -> list[Element]:
        wanted = attrs.items()
        return [e for e in self.elements if e.tag == tag and all(e.attrs.get(k) == v for k, v in wanted)]

    def one(self, tag: str, **attrs: str) -> Element:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def label_for(self, element_id: str) -> str:
        return " ".join(self.one("label", **{"for": element_id}).text.split())

    def visible_inputs(self) -> list[Element]:
        return [e for e in self.all("input") if e.attrs.get("type") != "hidden"]


def text(html: str) -> str:
    """The page as a person reads it: tags dropped, whitespace folded."""
    return " ".join(html_mod.unescape(re.sub(r"<[^>]+>", " ", html)).split())

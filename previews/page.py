"""What a page says about itself: its Open Graph title, description, site name and image, else
its <title> and meta description, read by the standard library's HTML parser from the head."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

TITLE_MAX = 200
DESCRIPTION_MAX = 300
SITE_MAX = 80
_SPACES = re.compile(r"\s+")
_WANTED = {
    "og:title": "title",
    "twitter:title": "title",
    "og:description": "description",
    "twitter:description": "description",
    "description": "description",
    "og:site_name": "site_name",
    "og:image": "image",
    "og:image:url": "image",
    "og:image:secure_url": "image",
    "twitter:image": "image",
}


class _Head(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}
        self.title: list[str] = []
        self.in_title = False
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "title":
            self.in_title = True
        elif tag == "meta":
            fields = {name.lower(): value or "" for name, value in attrs}
            key = (fields.get("property") or fields.get("name") or "").lower()
            wanted = _WANTED.get(key)
            if wanted and fields.get("content") and wanted not in self.found:
                self.found[wanted] = fields["content"]
        elif tag == "body":
            self.done = True  # what a page says of itself is in its head

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag == "head":
            self.done = True

    def handle_data(self, data: str) -> None:
        if self.in_title and not self.done:
            self.title.append(data)


def shown(text: str, limit: int) -> str:
    """Text as a preview may show it: no control or format characters (no bidi override can turn
    it around), spaces collapsed, cut at `limit` characters."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    kept = "".join(ch for ch in kept if unicodedata.category(ch) != "Cf" or ch in "\u200c\u200d")
    kept = _SPACES.sub(" ", kept).strip()
    return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"


def read_head(html: str, url: str) -> dict[str, str]:
    """{title, description, site_name, image (an absolute http(s) URL)}, each only when the page has it."""
    parser = _Head()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # a page broken past what the parser forgives
        pass
    found = dict(parser.found)
    title = found.get("title") or "".join(parser.title)
    result = {}
    for key, value, limit in (
        ("title", title, TITLE_MAX),
        ("description", found.get("description", ""), DESCRIPTION_MAX),
        ("site_name", found.get("site_name", ""), SITE_MAX),
    ):
        text = shown(value, limit)
        if text:
            result[key] = text
    image = found.get("image", "").strip()
    if image:
        absolute = urljoin(url, image)
        if urlsplit(absolute).scheme in ("http", "https"):
            result["image"] = absolute
    return result

"""Activity bodies between systems: HubSpot keeps HTML in a note's or call's body, Dynamics and
ConnectWise keep plain text, and every system has its own size limit. Pure functions, so the
round trip (text → HTML → text gives the same text) is a unit test.

A body longer than the target accepts is cut and ends with TRUNCATED_MARKER: the record syncs,
the event says so, and it is never failed for its length."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

TRUNCATED_MARKER = " … [truncated by SyncSmart]"
BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "table"}
SKIPPED_TAGS = {"script", "style", "head", "title"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        elif tag == "br" or tag in BLOCK_TAGS and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCK_TAGS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(value: str) -> str:
    """The text a reader sees: tags dropped, paragraphs and <br> as line breaks, entities decoded."""
    parser = _Text()
    parser.feed(value)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_to_html(value: str) -> str:
    """Plain text as one HTML paragraph, line breaks kept (html_to_text gives the text back)."""
    text = value.strip().replace("\r\n", "\n")
    return "<p>" + html.escape(text, quote=False).replace("\n", "<br>") + "</p>" if text else ""


def truncate(value: str, limit: int | None) -> tuple[str, bool]:
    """`value` cut to `limit` characters, ending with the marker when it was cut."""
    if limit is None or len(value) <= limit:
        return value, False
    keep = max(limit - len(TRUNCATED_MARKER), 0)
    return (value[:keep] + TRUNCATED_MARKER)[:limit], True


def fit_body(value: str, *, source_html: bool, target_html: bool, limit: int | None) -> tuple[str, bool]:
    """A body in the target's form (HTML or text) and size; (value, truncated?)."""
    if source_html and not target_html:
        value = html_to_text(value)
    elif target_html and not source_html:
        value = text_to_html(value)
    if target_html and limit is not None and len(value) > limit:
        # cut the text, not the markup: a cut tag would show as garbage
        text = html_to_text(value)
        cut, _ = truncate(text, max(limit - 64, 0))
        while len(text_to_html(cut)) > limit and cut:
            cut, _ = truncate(cut, len(cut) - max(len(text_to_html(cut)) - limit, 1))
        return text_to_html(cut), True
    return truncate(value, limit)

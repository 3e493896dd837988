"""Which parser an input needs, from its first bytes and its shape."""

from __future__ import annotations

import re

from alertbot.parse.base import ParseError

_BOM = b"\xef\xbb\xbf"
_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
_FEED = re.compile(rb"<rss[\s>]|<feed[\s>]|<rdf:rdf[\s>]", re.IGNORECASE)


def sniff(data: bytes, *, name: str) -> str | None:
    """ "feed", "hf-json" or None (a text dump: see :func:`dump_layout`).

    Raises :class:`ParseError` for an HTML page, which is never a listing.
    """
    head = data[:4096].removeprefix(_BOM).lstrip()
    if head.startswith(b"<"):
        if _FEED.search(head):
            return "feed"
        if _HTML.search(head):
            raise ParseError(name, "an HTML page, not a listing")
        return "feed"  # other XML: the feed parser decides, and says why if it cannot
    if head.startswith((b"[", b"{")):
        return "hf-json"
    return None


def dump_layout(text: str) -> str:
    """ "blocks" when blank lines separate the units, else "lines".

    Counted over non-empty lines: how many are followed by a blank line. In the
    blocks layout that is most of them (fewer if abstracts are wrapped over several
    lines, hence one in five); in the lines layout only the odd stray blank line.
    """
    lines = text.strip().split("\n")
    filled = [i for i, line in enumerate(lines) if line.strip()]
    separated = sum(1 for i in filled[:-1] if not lines[i + 1].strip())
    return "blocks" if separated >= 2 and separated * 5 >= len(filled) else "lines"

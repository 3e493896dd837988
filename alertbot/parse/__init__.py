"""Parsers: bytes in, papers out, pure. One module per format, auto-detected.

``parse_bytes`` is the entry point; it never touches the disk, the network or the
clock (``fetched_at`` is given), and rejects anything that is not a listing with a
one-line :class:`ParseError` ("NAME: reason").
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from alertbot.parse import blocks, detect, feed, hf_json, lines
from alertbot.parse.base import ParseError, ParseResult, decode_text

FORMATS: tuple[str, ...] = ("auto", blocks.FORMAT, lines.FORMAT, hf_json.FORMAT, feed.FORMAT)
ANNOUNCE_TYPES = feed.ANNOUNCE_TYPES
DEFAULT_ANNOUNCE_TYPES = feed.DEFAULT_ANNOUNCE_TYPES

__all__ = [
    "ANNOUNCE_TYPES",
    "DEFAULT_ANNOUNCE_TYPES",
    "FORMATS",
    "ParseError",
    "ParseResult",
    "detect_format",
    "parse_bytes",
]


def detect_format(data: bytes, *, name: str) -> str:
    """The format ``data`` is in (one of :data:`FORMATS` but "auto"); raises ParseError."""
    sniffed = detect.sniff(data, name=name)
    if sniffed is not None:
        return sniffed
    return detect.dump_layout(decode_text(data, name=name))


def parse_bytes(
    data: bytes,
    *,
    name: str,
    format: str = "auto",
    fetched_at: datetime,
    announce_types: Collection[str] = feed.DEFAULT_ANNOUNCE_TYPES,
) -> ParseResult:
    """Parse one listing.

    ``name`` (a path or URL) only labels errors. ``fetched_at`` anchors dates given
    without a year, which are never later than it. ``announce_types`` are the arXiv
    announcements kept (``new`` and ``cross`` by default); the others are counted in
    ``ParseResult.skipped``. A feed or JSON array without entries is an empty listing
    (no papers, no error); a text dump always has papers or is not a listing.
    """
    if format not in FORMATS:
        raise ParseError(name, f"unknown format {format!r} (choose from {', '.join(FORMATS)})")
    if not data.strip():
        raise ParseError(name, "empty input, not a listing")
    if format == "auto":
        format = detect_format(data, name=name)
    if format == feed.FORMAT:
        if b"\x00" in data[:65536]:
            raise ParseError(name, "binary data, not a listing")
        return feed.parse(data, name=name, fetched_at=fetched_at, announce_types=announce_types)
    text = decode_text(data, name=name)
    if format == hf_json.FORMAT:
        return hf_json.parse(text, name=name, fetched_at=fetched_at)
    if format == blocks.FORMAT:
        return blocks.parse(text, name=name, fetched_at=fetched_at)
    return lines.parse(text, name=name, fetched_at=fetched_at)

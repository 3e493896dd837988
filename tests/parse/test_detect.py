"""Format detection and the rejection of anything that is not a listing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alertbot.parse import FORMATS, ParseError, detect_format, parse_bytes
from tests.helpers import FIXTURES

FETCHED = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hf-papers-blocks.trimmed.txt", "blocks"),
        ("hf-papers-lines.trimmed.txt", "lines"),
        ("hf-daily-papers.json", "hf-json"),
        ("arxiv-cs.CL.rss.xml", "feed"),
        ("arxiv-cs.CL.atom.xml", "feed"),
        ("arxiv-export-api.atom.xml", "feed"),
    ],
)
def test_it_detects_each_format(name: str, expected: str) -> None:
    """Every fixture is recognised as the format it is in."""
    assert detect_format((FIXTURES / name).read_bytes(), name=name) == expected


REJECTED = {
    "empty": (b"", "empty"),
    "blank": (b" \n\r\n\t\n", "empty"),
    "binary": (bytes(range(256)) * 4, "binary"),
    "not utf-8": ("Café paper\n\n".encode("latin-1") * 10, "non-UTF-8"),
    "html page": (
        b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>502</h1></body></html>",
        "HTML page",
    ),
    "html without doctype": (b"  <html lang='en'><body>Sorry</body></html>", "HTML page"),
    "prose": (b"Just a note.\nNothing to see here.\n", "no paper found"),
}


@pytest.mark.parametrize(("data", "reason"), REJECTED.values(), ids=REJECTED.keys())
def test_it_rejects_what_is_not_a_listing(data: bytes, reason: str) -> None:
    """Non-listings raise a one-line ParseError naming the input and the reason."""
    with pytest.raises(ParseError) as info:
        parse_bytes(data, name="inbox/file.txt", fetched_at=FETCHED)
    message = str(info.value)
    assert message.startswith("inbox/file.txt: ")
    assert reason in message
    assert "\n" not in message


def test_it_refuses_an_unknown_format_name() -> None:
    """``format`` must be one of FORMATS."""
    with pytest.raises(ParseError, match="unknown format"):
        parse_bytes(b"x", name="x", format="csv", fetched_at=FETCHED)
    assert "csv" not in FORMATS


def test_it_parses_with_a_forced_format() -> None:
    """``format`` overrides detection, and the forced parser still refuses binary input."""
    data = (FIXTURES / "hf-papers-blocks.trimmed.txt").read_bytes()
    assert parse_bytes(data, name="d", format="blocks", fetched_at=FETCHED).format == "blocks"
    with pytest.raises(ParseError, match="binary"):
        parse_bytes(b"\x00\x01<rss>", name="d", format="feed", fetched_at=FETCHED)

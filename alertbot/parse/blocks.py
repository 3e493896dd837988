"""The blocks layout: paragraphs separated by blank lines.

Banner paragraphs ("new", "Subscribe", "Daily Papers", a listing date such as
"Oct 13"), then per paper a title paragraph, an abstract paragraph and, in some
dumps, a meta paragraph ("• 8 authors" / "·" / "May 31, 2024").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from alertbot.parse.base import ParseResult
from alertbot.parse.dump import MAX_TITLE, MIN_ABSTRACT, Meta, Unit, assemble, units_from_lines

FORMAT = "blocks"


def parse(text: str, *, name: str, fetched_at: datetime) -> ParseResult:
    """Papers in a blocks-layout dump (``text`` already decoded, ``\\n`` line ends)."""
    units: list[Unit] = []
    for paragraph in paragraphs(text):
        for unit in _join_wrapped(units_from_lines(paragraph)):
            if isinstance(unit, Meta) and units and isinstance(units[-1], Meta):
                units[-1] = units[-1].merge(unit)
            else:
                units.append(unit)
    return assemble(units, name=name, fmt=FORMAT, fetched_at=fetched_at)


def paragraphs(text: str) -> Iterator[list[str]]:
    """Stripped non-empty lines, grouped by the blank lines between them."""
    current: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line:
            current.append(line)
        elif current:
            yield current
            current = []
    if current:
        yield current


def _join_wrapped(units: list[Unit]) -> list[Unit]:
    """Join text lines of one paragraph (a wrapped abstract) into one unit.

    A short line followed by a much longer one is a title whose blank line went
    missing: it stays apart so that a title is never glued into an abstract.
    """
    joined: list[Unit] = []
    for unit in units:
        previous = joined[-1] if joined else None
        if isinstance(unit, str) and isinstance(previous, str):
            title_then_abstract = (
                len(joined) == 1
                and len(previous) <= MAX_TITLE
                and len(unit) >= MIN_ABSTRACT
                and len(unit) > 2 * len(previous)
            )
            if not title_then_abstract:
                joined[-1] = f"{previous} {unit}"
                continue
        joined.append(unit)
    return joined

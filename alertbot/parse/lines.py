"""The lines layout: one line per title, one per abstract, no blank lines.

Two banner lines come first and the first title is glued to the word "Subscribe"
("SubscribeLike an Open Book? ..."); the last line may lack its newline.
"""

from __future__ import annotations

from datetime import datetime

from alertbot.parse.base import ParseResult
from alertbot.parse.dump import assemble, units_from_lines

FORMAT = "lines"


def parse(text: str, *, name: str, fetched_at: datetime) -> ParseResult:
    """Papers in a lines-layout dump (``text`` already decoded, ``\\n`` line ends)."""
    lines = [line.strip() for line in text.split("\n")]
    units = units_from_lines([line for line in lines if line])
    return assemble(units, name=name, fmt=FORMAT, fetched_at=fetched_at)

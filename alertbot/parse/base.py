"""What every parser shares: the result type, the error type, decoding bytes to text."""

from __future__ import annotations

from dataclasses import dataclass

from alertbot.model import Paper


class ParseError(ValueError):
    """The input is not a listing we can read; ``str()`` is one line, "NAME: reason"."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(" ".join(f"{name}: {reason}".split()))


@dataclass(frozen=True)
class ParseResult:
    """The papers found in one input.

    ``skipped`` counts entries deliberately left out (arXiv announcements of a type
    not asked for, replacements by default); ``warnings`` lists text that looked like
    neither a title nor an abstract, so nothing is ever dropped without a word.
    """

    papers: list[Paper]
    format: str
    skipped: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """A listing with no entries at all (a weekend's feed), not one of skipped ones."""
        return not self.papers and not self.skipped


BOM = "\ufeff"


def decode_text(data: bytes, *, name: str) -> str:
    """UTF-8 text with the BOM removed and line endings normalised to ``\\n``.

    Raises :class:`ParseError` for empty or binary input.
    """
    if not data.strip():
        raise ParseError(name, "empty input, not a listing")
    # A NUL byte never occurs in a text listing; it is the cheapest binary test.
    if b"\x00" in data[:65536]:
        raise ParseError(name, "binary data, not a listing")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(
            name, f"binary or non-UTF-8 data at byte {exc.start}, not a listing"
        ) from None
    text = text.removeprefix(BOM)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ParseError(name, "empty input, not a listing")
    return text


def excerpt(text: str, limit: int = 60) -> str:
    """A short one-line quote of ``text`` for warnings."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

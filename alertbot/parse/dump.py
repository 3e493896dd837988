"""What the two listing-dump layouts share: banners, meta lines, dates, pairing.

A dump is a sequence of *units* (a paragraph in the blocks layout, a line in the
lines layout). A unit is either text (a title or an abstract) or meta ("• 8 authors",
"·", "May 31, 2024"). Papers are found by pairing a heading-like text unit with the
longer text unit after it; the meta right after an abstract belongs to that paper.
Text that pairs with nothing is reported in ``ParseResult.warnings``, never dropped
silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from alertbot.logs import get_logger
from alertbot.model import Paper, paper_id
from alertbot.parse.base import ParseError, ParseResult, excerpt

log = get_logger(__name__)

# Banner lines Hugging Face puts above a listing. Unknown ones are tolerated too (they
# pair with nothing), these are merely recognised without a warning.
KNOWN_BANNERS = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "get trending papers in your email inbox once a day!",
        "subscribe",
        "daily papers",
        "trending papers",
        "weekly papers",
        "monthly papers",
        "byak and the research community",
    }
)
GLUED_SUBSCRIBE = "Subscribe"

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
# "May 31, 2024", "Apr 21", and stray trailing counters as in "May 26 1".
_DATE = re.compile(
    r"(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2})(?:,?\s+(?P<year>\d{4}))?(?:\s+\d{1,6})*"
)
_AUTHORS = re.compile(r"(?P<n>\d{1,5})\s+authors?", re.IGNORECASE)
_META_SEPARATORS = re.compile(r"[·•]")

# A title is rarely longer than this; an abstract rarely shorter than the minimum.
MAX_TITLE = 400
MIN_ABSTRACT = 100
TITLE_SIZED = 160
MAX_META_LINE = 80


@dataclass(frozen=True, slots=True)
class PartialDate:
    month: int
    day: int
    year: int | None

    def resolve(self, reference: date) -> date | None:
        """The date itself, or without a year the latest such date not after ``reference``."""
        if self.year is not None:
            return _safe_date(self.year, self.month, self.day)
        for year in range(reference.year, reference.year - 9, -1):
            candidate = _safe_date(year, self.month, self.day)
            if candidate is not None and candidate <= reference:
                return candidate
        return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Meta:
    n_authors: int | None = None
    published: PartialDate | None = None

    def merge(self, other: Meta) -> Meta:
        return Meta(
            self.n_authors if self.n_authors is not None else other.n_authors,
            self.published or other.published,
        )


Unit = str | Meta


def parse_date(text: str) -> PartialDate | None:
    """``PartialDate`` for "May 31, 2024" / "Apr 21" / "May 26 1", else None."""
    m = _DATE.fullmatch(text.strip())
    if not m:
        return None
    month = _MONTHS.get(m["mon"].lower())
    day = int(m["day"])
    if month is None or not 1 <= day <= 31:
        return None
    return PartialDate(month, day, int(m["year"]) if m["year"] else None)


def parse_meta_line(line: str) -> Meta | None:
    """The meta a line carries ("• 8 authors", "·", "May 31, 2024"), or None for text."""
    if len(line) > MAX_META_LINE:
        return None  # the cheap test first: most lines are long abstracts
    meta = Meta()
    for piece in _META_SEPARATORS.split(line):
        piece = piece.strip()
        if not piece:
            continue
        authors = _AUTHORS.fullmatch(piece)
        if authors:
            meta = Meta(int(authors["n"]), meta.published)
            continue
        published = parse_date(piece)
        if published is None:
            return None
        meta = Meta(meta.n_authors, published)
    return meta


def units_from_lines(lines: list[str]) -> list[Unit]:
    """Classify stripped, non-empty lines as text or meta; adjacent meta merges."""
    units: list[Unit] = []
    for line in lines:
        meta = parse_meta_line(line)
        if meta is None:
            units.append(line)
        elif units and isinstance(units[-1], Meta):
            units[-1] = units[-1].merge(meta)
        else:
            units.append(meta)
    return units


def assemble(units: list[Unit], *, name: str, fmt: str, fetched_at: datetime) -> ParseResult:
    """Turn units into papers: skip the banner, pair titles with abstracts, attach meta."""
    listing_date: date | None = None
    warnings: list[str] = []
    i = _skip_banner(units)
    for unit in units[:i]:
        if isinstance(unit, Meta) and unit.published and unit.n_authors is None:
            listing_date = unit.published.resolve(fetched_at.date())
    reference = listing_date or fetched_at.date()

    papers: list[Paper] = []
    while i < len(units):
        unit = units[i]
        if isinstance(unit, Meta):
            if papers or unit.n_authors is not None:
                warnings.append(f"meta without a paper ignored (unit {i + 1})")
            i += 1
            continue
        if not papers:
            if unit.casefold() in KNOWN_BANNERS:
                i += 1
                continue
            unit = _unglue(unit)
        abstract = _text_at(units, i + 1)
        if abstract is None or not _pairs(units, i, in_banner=not papers):
            warnings.append(f"unpaired text ignored: {excerpt(unit)!r}")
            i += 1
            continue
        meta = Meta()
        i += 2
        if i < len(units):
            found = units[i]
            if isinstance(found, Meta):
                meta = found
                i += 1
        papers.append(
            Paper(
                id=paper_id(unit),
                title=unit,
                abstract=abstract,
                source_format=fmt,
                n_authors=meta.n_authors,
                published=meta.published.resolve(reference) if meta.published else None,
            )
        )
    if not papers:
        raise ParseError(name, "no paper found (a title followed by an abstract), not a listing")
    if len(warnings) > len(papers):
        # Source code, a README, a log: any text pairs a line or two by accident, but in
        # a listing the papers outnumber the stray lines.
        raise ParseError(
            name,
            f"mostly text that is not a paper ({len(warnings)} unpaired parts for "
            f"{len(papers)} papers), not a listing",
        )
    for warning in warnings:
        log.warning("listing text ignored", input=name, detail=warning)
    return ParseResult(papers=papers, format=fmt, warnings=tuple(warnings))


def _unglue(text: str) -> str:
    """The lines layout glues the first title to the Subscribe button's label."""
    rest = text.removeprefix(GLUED_SUBSCRIBE)
    return rest if rest != text and rest and not rest[0].isspace() else text


def _skip_banner(units: list[Unit]) -> int:
    """Index of the first unit after the known banner lines and the listing date."""
    i = 0
    while i < len(units):
        unit = units[i]
        if isinstance(unit, Meta):
            if unit.n_authors is not None:
                break
        elif unit.strip().casefold() not in KNOWN_BANNERS:
            break
        i += 1
    return i


def _text_at(units: list[Unit], i: int) -> str | None:
    if 0 <= i < len(units):
        unit = units[i]
        return unit if isinstance(unit, str) else None
    return None


def _pairs(units: list[Unit], i: int, *, in_banner: bool) -> bool:
    """Whether ``units[i]`` is a title whose abstract is ``units[i + 1]``."""
    title = _text_at(units, i)
    abstract = _text_at(units, i + 1)
    if title is None or abstract is None or len(title) > MAX_TITLE:
        return False
    if i + 2 < len(units) and isinstance(units[i + 2], Meta):
        return True  # a meta paragraph closes a paper: the strongest signal there is
    if len(abstract) < MIN_ABSTRACT or len(abstract) <= len(title):
        return False
    # An unknown line before a long title (a banner, or stray text between papers):
    # the title pairs better with the abstract after it than the stray line with the
    # title. Outside the banner only a title-sized "abstract" is suspected.
    following = _text_at(units, i + 2)
    return not (
        following is not None
        and len(abstract) <= (MAX_TITLE if in_banner else TITLE_SIZED)
        and len(following) >= MIN_ABSTRACT
        and len(following) > 2 * len(abstract)
    )

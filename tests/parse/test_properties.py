"""Properties: any list of papers written out as a dump parses back to the same papers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from alertbot.parse import parse_bytes
from alertbot.parse.dump import KNOWN_BANNERS, PartialDate, parse_meta_line

FETCHED = datetime(2026, 3, 1, tzinfo=UTC)
WORD = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-:?'é",
    min_size=1,
    max_size=12,
)


def sentence(min_words: int, max_words: int) -> st.SearchStrategy[str]:
    return st.lists(WORD, min_size=min_words, max_size=max_words).map(" ".join)


TITLES = sentence(2, 14).filter(
    lambda t: (
        parse_meta_line(t) is None
        and t.casefold() not in KNOWN_BANNERS
        and not t.startswith("Subscribe")
    )
)
# Generating 100-word texts is slow; repeating a short sentence gives the same shape.
ABSTRACTS = sentence(3, 10).map(lambda s: " ".join([s + "."] * (150 // len(s) + 1)))
PAPERS = st.lists(st.tuples(TITLES, ABSTRACTS), min_size=1, max_size=8)


@settings(max_examples=40)
@given(papers=PAPERS, with_meta=st.booleans())
def test_it_reads_back_any_blocks_dump(papers: list[tuple[str, str]], with_meta: bool) -> None:
    """Titles and abstracts come back exactly, in order, with or without meta paragraphs."""
    parts = ["new", "Subscribe", "Daily Papers"]
    for title, abstract in papers:
        parts += [title, abstract]
        if with_meta:
            parts.append("  • 3 authors\n·\nMay 31, 2024")
    data = "\n\n".join(parts).encode("utf-8")
    result = parse_bytes(data, name="p", fetched_at=FETCHED)
    assert [(p.title, p.abstract) for p in result.papers] == papers
    assert result.warnings == ()


@settings(max_examples=40)
@given(papers=PAPERS)
def test_it_reads_back_any_lines_dump(papers: list[tuple[str, str]]) -> None:
    """The lines layout, first title glued to "Subscribe", reads back exactly."""
    lines = ["Get trending papers in your email inbox!"]
    for k, (title, abstract) in enumerate(papers):
        lines += [("Subscribe" if k == 0 else "") + title, abstract]
    result = parse_bytes("\n".join(lines).encode("utf-8"), name="p", fetched_at=FETCHED)
    assert [(p.title, p.abstract) for p in result.papers] == papers


@given(month=st.integers(1, 12), day=st.integers(1, 31), reference=st.dates(date(2001, 1, 1)))
def test_it_never_infers_a_date_after_the_reference(month: int, day: int, reference: date) -> None:
    """A date without a year resolves to the latest such date not after the reference."""
    resolved = PartialDate(month, day, None).resolve(reference)
    if resolved is not None:
        assert resolved <= reference
        assert (resolved.month, resolved.day) == (month, day)
        assert (reference - resolved).days < 366 * 8


def test_it_resolves_february_29_to_a_leap_year() -> None:
    """ "Feb 29" seen in 2026 is 29 February 2024."""
    assert PartialDate(2, 29, None).resolve(date(2026, 3, 1)) == date(2024, 2, 29)

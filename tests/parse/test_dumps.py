"""The two listing-dump layouts, on the real dumps and on hand-made variants."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from alertbot.model import title_id
from alertbot.parse import ParseResult, parse_bytes
from alertbot.samples import sample_dump_paths
from tests.helpers import FIXTURES

FETCHED = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
BLOCKS, LINES = sample_dump_paths()

ABSTRACT_A = (
    "We study how attention heads specialise during training and show that a small set of "
    "heads carries most of the retrieval behaviour in long contexts."
)
ABSTRACT_B = (
    "A second abstract, long enough to be an abstract: it describes a benchmark of one hundred "
    "tasks and reports that no model solves more than half of them."
)


def parse(data: bytes | str, fetched_at: datetime = FETCHED, format: str = "auto") -> ParseResult:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_bytes(raw, name="dump.txt", fetched_at=fetched_at, format=format)


def source_paragraphs(path: Path) -> set[str]:
    return {p.strip() for p in path.read_text(encoding="utf-8").split("\n\n")}


def test_it_finds_every_paper_of_the_real_blocks_dump() -> None:
    """The shared blocks dump has 42 papers, each with an author count and a date."""
    result = parse(BLOCKS.read_bytes())
    assert result.format == "blocks"
    assert len(result.papers) == 42
    assert all(p.n_authors is not None for p in result.papers)
    assert all(p.published is not None for p in result.papers)
    assert result.warnings == ()


def test_it_finds_every_paper_of_the_real_lines_dump() -> None:
    """The shared lines dump has 279 papers; the first title loses its glued "Subscribe"."""
    result = parse(LINES.read_bytes())
    assert result.format == "lines"
    assert len(result.papers) == 279
    assert result.papers[0].title.startswith("Like an Open Book?")
    assert not any(p.title.startswith("Subscribe") for p in result.papers)


def test_it_keeps_titles_and_abstracts_exactly_as_in_the_blocks_source() -> None:
    """Every title and abstract is a whole paragraph of the source, whitespace-trimmed."""
    paragraphs = source_paragraphs(BLOCKS)
    for paper in parse(BLOCKS.read_bytes()).papers:
        assert paper.title in paragraphs
        assert paper.abstract in paragraphs


def test_it_keeps_titles_and_abstracts_exactly_as_in_the_lines_source() -> None:
    """Titles are the odd lines and abstracts the even lines of the source, in order."""
    lines = LINES.read_text(encoding="utf-8").split("\n")
    papers = parse(LINES.read_bytes()).papers
    assert [p.title for p in papers[1:]] == lines[4::2]
    assert [p.abstract for p in papers] == lines[3::2]
    assert papers[0].title == lines[2].removeprefix("Subscribe")


@pytest.mark.parametrize("path", [BLOCKS, LINES], ids=["blocks", "lines"])
def test_it_reads_crlf_and_bom_variants_identically(path: Path) -> None:
    """CRLF line ends, a UTF-8 BOM and trailing spaces change nothing."""
    data = path.read_bytes()
    variant = b"\xef\xbb\xbf" + data.replace(b"\n", b"  \r\n")
    assert parse(variant).papers == parse(data).papers


def test_it_infers_missing_years_from_the_listing_date() -> None:
    """ "Apr 21" under a listing dated "Oct 13" is the latest Apr 21 before that Oct 13."""
    papers = {p.title: p for p in parse(BLOCKS.read_bytes()).papers}
    bigram = papers["Bigram Subnetworks: Mapping to Next Tokens in Transformer Language Models"]
    assert bigram.published == date(2025, 4, 21)
    # Fetched in February 2026, "Oct 13" is October 2025: "Oct 6" stays in 2025.
    early = {
        p.title: p for p in parse(BLOCKS.read_bytes(), datetime(2026, 2, 1, tzinfo=UTC)).papers
    }
    onnx = early[next(t for t in early if t.startswith("ONNX-Net"))]
    assert onnx.published == date(2025, 10, 6)


def test_it_never_dates_a_paper_after_the_fetch() -> None:
    """Without a listing date, a year-less date is resolved against the fetch time."""
    text = f"Subscribe\n\nTitle One\n\n{ABSTRACT_A}\n\n• 3 authors\n·\nDec 30\n"
    paper = parse(text, datetime(2026, 1, 2, tzinfo=UTC)).papers[0]
    assert paper.published == date(2025, 12, 30)


def test_it_ignores_stray_trailing_tokens_after_a_date() -> None:
    """ "May 26 1" and "May 22, 2024 1" are dates followed by a counter."""
    papers = {
        p.title: p for p in parse((FIXTURES / "hf-papers-blocks.trimmed.txt").read_bytes()).papers
    }
    assert papers["Attention as an RNN"].published == date(2024, 5, 22)
    coverage = next(p for t, p in papers.items() if t.startswith("The Coverage Principle"))
    assert coverage.published == date(2025, 5, 26)
    assert coverage.n_authors == 10


BLOCK_VARIANTS = {
    "no meta, no Daily Papers line": (
        f"new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\n"
        f"Title One\n\n{ABSTRACT_A}\n\nTitle Two: Benchmarks\n\n{ABSTRACT_B}\n"
    ),
    "extra blank lines and trailing spaces": (
        f"new  \n\n\n\nSubscribe   \n\n\nTitle One   \n\n\n\n{ABSTRACT_A}  \n\n  • 2 authors\n·\n"
        f"Jan 3, 2024   \n\n\n\nTitle Two: Benchmarks\n\n{ABSTRACT_B}\n\n\n\n"
    ),
    "unknown banner lines": (
        f"Trending this week\n\nSubscribe\n\nPowered by the community\n\n"
        f"Title One\n\n{ABSTRACT_A}\n\nTitle Two: Benchmarks\n\n{ABSTRACT_B}"
    ),
    "mixed meta": (
        f"Daily Papers\n\nOct 13\n\nTitle One\n\n{ABSTRACT_A}\n\n• 2 authors\n·\nJan 3, 2024\n\n"
        f"Title Two: Benchmarks\n\n{ABSTRACT_B}\n"
    ),
    "meta glued to the abstract": (
        f"Subscribe\n\nTitle One\n\n{ABSTRACT_A}\n• 2 authors\n·\nJan 3, 2024\n\n"
        f"Title Two: Benchmarks\n\n{ABSTRACT_B}\n"
    ),
    "title glued to the abstract": (
        f"Subscribe\n\nTitle One\n{ABSTRACT_A}\n\nTitle Two: Benchmarks\n\n{ABSTRACT_B}\n"
    ),
}


@pytest.mark.parametrize("text", BLOCK_VARIANTS.values(), ids=BLOCK_VARIANTS.keys())
def test_it_reads_blocks_variants(text: str) -> None:
    """Banner, meta and spacing variations still give exactly the two papers."""
    result = parse(text, format="blocks")
    assert [(p.title, p.abstract) for p in result.papers] == [
        ("Title One", ABSTRACT_A),
        ("Title Two: Benchmarks", ABSTRACT_B),
    ]


def test_it_auto_detects_blocks_variants() -> None:
    """Auto-detection picks the blocks layout for every variant."""
    for text in BLOCK_VARIANTS.values():
        assert parse(text).format == "blocks"


def test_it_reports_unknown_banner_lines_as_warnings() -> None:
    """Text that pairs with nothing is named in the warnings rather than dropped silently."""
    result = parse(BLOCK_VARIANTS["unknown banner lines"])
    assert len(result.warnings) == 2
    assert "Trending this week" in result.warnings[0]


def test_it_joins_a_wrapped_abstract() -> None:
    """An abstract wrapped over several lines of one paragraph is one abstract."""
    half = ABSTRACT_A.index(" ", len(ABSTRACT_A) // 2)
    wrapped = f"{ABSTRACT_A[:half]}\n{ABSTRACT_A[half + 1 :]}"
    text = f"Subscribe\n\nTitle One\n\n{wrapped}\n\nTitle Two: Benchmarks\n\n{ABSTRACT_B}\n"
    papers = parse(text).papers
    assert papers[0].abstract == ABSTRACT_A


def test_it_reads_the_meta_of_a_paper() -> None:
    """The meta paragraph gives the author count and the date; the id is the title hash."""
    text = f"Subscribe\n\nTitle One\n\n{ABSTRACT_A}\n\n  • 1 author\n·\nMay 31, 2024\n"
    paper = parse(text).papers[0]
    assert paper.n_authors == 1
    assert paper.published == date(2024, 5, 31)
    assert paper.id == title_id("Title One")
    assert paper.source_format == "blocks"


LINES_VARIANTS = {
    "real banner": (
        "Get trending papers in your email inbox once a day!\n"
        f"Get trending papers in your email inbox!\nSubscribeTitle One\n{ABSTRACT_A}\n"
        f"Title Two: Benchmarks\n{ABSTRACT_B}"
    ),
    "unknown banner line and trailing newline": (
        f"Something new on top\nSubscribeTitle One\n{ABSTRACT_A}\n"
        f"Title Two: Benchmarks\n{ABSTRACT_B}\n\n"
    ),
    "no banner": f"Title One\n{ABSTRACT_A}\nTitle Two: Benchmarks\n{ABSTRACT_B}\n",
    "stray blank line": f"Title One\n{ABSTRACT_A}\n\nTitle Two: Benchmarks\n{ABSTRACT_B}\n",
}


@pytest.mark.parametrize("text", LINES_VARIANTS.values(), ids=LINES_VARIANTS.keys())
def test_it_reads_lines_variants(text: str) -> None:
    """The lines layout with or without banners and final newline gives the two papers."""
    result = parse(text)
    assert result.format == "lines"
    assert [(p.title, p.abstract) for p in result.papers] == [
        ("Title One", ABSTRACT_A),
        ("Title Two: Benchmarks", ABSTRACT_B),
    ]


def test_it_keeps_a_title_that_only_starts_with_the_word_subscribe() -> None:
    """Only a "Subscribe" glued to the first title is removed, not a real word."""
    text = f"Subscribe to Nothing: A Study\n{ABSTRACT_A}\n"
    assert parse(text).papers[0].title == "Subscribe to Nothing: A Study"

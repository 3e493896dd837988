"""Hugging Face daily-papers JSON and arXiv RSS / Atom / export-API feeds."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from alertbot.parse import ParseError, ParseResult, parse_bytes
from tests.helpers import FIXTURES

FETCHED = datetime(2026, 3, 1, tzinfo=UTC)


def parse_fixture(name: str, **kw: bool | str) -> ParseResult:
    return parse_bytes((FIXTURES / name).read_bytes(), name=name, fetched_at=FETCHED, **kw)  # type: ignore[arg-type]


def test_it_reads_hf_daily_papers() -> None:
    """Each row's paper gives id, title, abstract, authors and the publication date."""
    result = parse_fixture("hf-daily-papers.json")
    assert result.format == "hf-json"
    first = result.papers[0]
    assert first.id == "2602.23229"
    assert first.arxiv_id == "2602.23229"
    assert first.title == "Sparse Retrieval Heads in Long-Context Transformers"
    assert first.abstract.startswith("We identify a small set of attention heads")
    assert first.authors == ("Mina Park", "Tomás Ortega")
    assert first.n_authors == 2
    assert first.published == date(2026, 2, 26)
    assert first.url == "https://arxiv.org/abs/2602.23229"
    assert first.hf_url == "https://huggingface.co/papers/2602.23229"


def test_it_reads_the_hf_code_and_project_links_and_upvotes_as_fields() -> None:
    """githubRepo, projectPage and upvotes are Paper fields, not buried in ``extra``."""
    first = parse_fixture("hf-daily-papers.json").papers[0]
    assert first.upvotes == 42
    assert first.github_repo == "https://github.com/example/retrieval-heads"
    assert first.project_page == "https://example.org/retrieval-heads"
    assert "githubRepo" not in first.extra


def test_it_keeps_unknown_hf_keys_in_extra() -> None:
    """Keywords, media and keys we never heard of survive in ``extra``."""
    extra = parse_fixture("hf-daily-papers.json").papers[0].extra
    assert extra["ai_keywords"] == ["attention heads", "long context", "retrieval"]
    assert extra["mediaUrls"] == ["https://cdn.example.org/fig1.png"]
    assert extra["row"]["numComments"] == 3


def test_it_drops_the_version_from_hf_ids() -> None:
    """An id given with a version is stored without it."""
    assert parse_fixture("hf-daily-papers.json").papers[1].id == "2602.21001"


@pytest.mark.parametrize("name", ["arxiv-cs.CL.rss.xml", "arxiv-cs.CL.atom.xml"])
def test_it_reads_arxiv_listing_feeds(name: str) -> None:
    """The listing feeds give the arXiv id, the bare abstract, every author, categories, DOI."""
    paper = parse_fixture(name).papers[0]
    assert paper.id == "2404.03715"
    assert paper.title == "Tokenizer Drift in Multilingual Models"
    assert paper.abstract == (
        "We measure how tokenizers trained on one language mix degrade on another & propose a fix."
    )
    assert paper.authors == ("Alice Smith", "Bob Jones", "Chen Wei")
    assert paper.categories == ("cs.CL", "cs.AI")
    assert paper.doi == "10.1234/tokdrift.2024"
    assert paper.announce_type == "new"
    assert paper.published == date(2024, 4, 8)
    assert paper.url == "https://arxiv.org/abs/2404.03715"


def test_it_skips_replacements_and_counts_them() -> None:
    """New and cross-listed entries are ingested; replace and replace-cross are skipped."""
    result = parse_fixture("arxiv-cs.CL.rss.xml")
    assert [p.announce_type for p in result.papers] == ["new", "cross"]
    assert result.skipped == 2


def test_it_keeps_replacements_when_asked() -> None:
    """Asking for every announce type keeps every entry."""
    result = parse_bytes(
        (FIXTURES / "arxiv-cs.CL.rss.xml").read_bytes(),
        name="rss",
        fetched_at=FETCHED,
        announce_types=("new", "cross", "replace", "replace-cross"),
    )
    assert len(result.papers) == 4
    assert result.skipped == 0


def test_it_reads_the_export_api() -> None:
    """Export API entries: wrapped title and abstract unwrapped, one author per element."""
    papers = parse_fixture("arxiv-export-api.atom.xml").papers
    assert papers[0].id == "2404.03715"
    assert papers[0].title == "Tokenizer Drift in Multilingual Models"
    assert papers[0].abstract.endswith("another & propose a fix.")
    assert papers[0].authors == ("Alice Smith", "Bob Jones", "Chen Wei")
    assert papers[0].doi == "10.1234/tokdrift.2024"
    assert papers[1].id == "hep-th/9901001"
    assert papers[1].published == date(1999, 1, 4)


def test_it_gives_a_feed_of_only_replacements_no_papers_without_error() -> None:
    """A feed whose entries are all replacements is a valid, empty day."""
    feed = (FIXTURES / "arxiv-cs.CL.atom.xml").read_bytes().replace(b">new<", b">replace<")
    result = parse_bytes(feed, name="atom", fetched_at=FETCHED)
    assert result.papers == []
    assert result.skipped == 2


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"[1, 2]", "row 1 is not an object"),
        (b'{"error": "rate limited"}', "not an array of daily papers"),
        (b'[{"paper": {"id": "2602.1"', "invalid JSON"),
    ],
)
def test_it_rejects_json_that_is_not_daily_papers(data: bytes, reason: str) -> None:
    """JSON of another shape is refused with the reason."""
    with pytest.raises(ParseError, match=reason):
        parse_bytes(data, name="api.json", fetched_at=FETCHED)


def test_it_reads_an_empty_hf_day_as_an_empty_listing() -> None:
    """An empty daily-papers array is a day without papers, not an error."""
    result = parse_bytes(b"[]", name="api.json", fetched_at=FETCHED)
    assert result.papers == []
    assert result.is_empty

"""Storing papers: one row per paper across sources, formats and days; the fetch log.

Tests whose SQL differs by backend (JSON, dates, batched statements) run on SQLite and
PostgreSQL (``engine``); pure bookkeeping logic runs on SQLite only, to keep the
suite fast (a PostgreSQL database per test costs about a second).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, select

from alertbot.model import FetchStatus, Paper, arxiv_id, paper_id
from alertbot.store.fetches import (
    FetchRecord,
    http_validators,
    ingested_hashes,
    last_successful_fetch,
    latest_fetches,
    prune_fetch_log,
    record_fetch,
    record_ingested_file,
    save_http_validators,
)
from alertbot.store.papers import count_papers, get_papers, papers_first_seen_between, upsert_papers
from alertbot.store.schema import paper_sources

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)


def paper(title: str, arxiv: str | None = None, **kw: object) -> Paper:
    return Paper(
        id=paper_id(title, arxiv),
        title=title,
        abstract=f"Abstract of {title}.",
        source_format="blocks" if arxiv is None else "feed",
        arxiv_id=arxiv_id(arxiv),
        **kw,  # type: ignore[arg-type]
    )


def test_it_stores_new_papers_once(engine: Engine) -> None:
    """A second upsert of the same papers finds them all known."""
    papers = [paper("One"), paper("Two", "2602.00002")]
    first = upsert_papers(engine, papers, source="a", now=T0)
    again = upsert_papers(engine, papers, source="a", now=T1)
    assert first.new_ids == [p.id for p in papers]
    assert first.known == 0
    assert again.new == 0
    assert again.known_ids == [p.id for p in papers]
    assert count_papers(engine) == 2


def test_it_keeps_first_seen_and_every_source(engine: Engine) -> None:
    """first_seen stays the first time; each listing source is recorded once."""
    p = paper("Shared Paper")
    upsert_papers(engine, [p], source="blocks-dump", now=T0)
    upsert_papers(engine, [p], source="lines-dump", now=T1)
    upsert_papers(engine, [p], source="blocks-dump", now=T1)
    stored = get_papers(engine, [p.id])[p.id]
    assert stored.first_seen == T0
    assert stored.sources == ("blocks-dump", "lines-dump")
    assert stored.paper == p


def test_it_updates_last_seen_per_source(engine: Engine) -> None:
    """paper_sources remembers when each source last listed the paper."""
    p = paper("Seen Twice")
    upsert_papers(engine, [p], source="a", now=T0)
    upsert_papers(engine, [p], source="a", now=T1)
    with engine.connect() as conn:
        row = conn.execute(select(paper_sources)).one()
    assert (row.first_seen, row.last_seen) == (T0, T1)


def test_it_treats_cosmetic_title_differences_as_the_same_paper(sqlite_engine: Engine) -> None:
    """Case, punctuation and spacing do not make a new title-hash paper."""
    upsert_papers(sqlite_engine, [paper("Self-Attention: A Survey")], source="a", now=T0)
    result = upsert_papers(sqlite_engine, [paper("self attention  a SURVEY")], source="b", now=T1)
    assert result.new == 0
    assert count_papers(sqlite_engine) == 1


def test_it_merges_an_arxiv_paper_into_a_stored_title_hash_paper(engine: Engine) -> None:
    """An arXiv listing of a paper first met in a dump keeps the dump's row and id."""
    dumped = paper("Attention as an RNN", n_authors=6, published=date(2024, 5, 22))
    upsert_papers(engine, [dumped], source="dump", now=T0)
    feed = paper("Attention as an RNN", "2405.13956v2", authors=("Leo Feng", "Frederick Tung"))
    result = upsert_papers(engine, [feed], source="arxiv", now=T1)
    assert result.new == 0
    assert result.known_ids == [dumped.id]
    stored = get_papers(engine, [dumped.id])[dumped.id]
    assert stored.paper.arxiv_id == "2405.13956"
    assert stored.paper.authors == ("Leo Feng", "Frederick Tung")
    assert stored.paper.n_authors == 6
    assert stored.sources == ("dump", "arxiv")
    # Met again under its arXiv id, it is still the same row.
    assert upsert_papers(engine, [feed], source="arxiv", now=T1).known_ids == [dumped.id]
    assert count_papers(engine) == 1


def test_it_merges_a_title_hash_paper_into_a_stored_arxiv_paper(sqlite_engine: Engine) -> None:
    """A dump listing a paper first met in a feed adds a source, not a row."""
    feed = paper("Pointer Networks", "1506.03134")
    upsert_papers(sqlite_engine, [feed], source="arxiv", now=T0)
    result = upsert_papers(sqlite_engine, [paper("Pointer networks")], source="dump", now=T1)
    assert result.known_ids == ["1506.03134"]
    assert count_papers(sqlite_engine) == 1


def test_it_keeps_two_arxiv_papers_with_the_same_title_apart(sqlite_engine: Engine) -> None:
    """Two arXiv ids are two papers even with equal titles (e.g. "Introduction")."""
    upsert_papers(sqlite_engine, [paper("Introduction")], source="dump", now=T0)
    first = upsert_papers(sqlite_engine, [paper("Introduction", "2601.00001")], source="x", now=T1)
    second = upsert_papers(sqlite_engine, [paper("Introduction", "2601.00002")], source="x", now=T1)
    assert first.new == 0
    assert second.new_ids == ["2601.00002"]
    assert count_papers(sqlite_engine) == 2


def test_it_merges_duplicates_within_one_batch(sqlite_engine: Engine) -> None:
    """A batch listing a paper twice, or by title and by arXiv id, stores it once."""
    batch = [
        paper("Twice Listed"),
        paper("Twice Listed", n_authors=3),
        paper("By Title And Id"),
        paper("by title and id", "2601.00003"),
    ]
    result = upsert_papers(sqlite_engine, batch, source="a", now=T0)
    assert result.new_ids == [paper_id("Twice Listed"), "2601.00003"]
    assert (
        get_papers(sqlite_engine, [paper_id("Twice Listed")])[
            paper_id("Twice Listed")
        ].paper.n_authors
        == 3
    )


def test_it_fills_missing_fields_from_later_listings(sqlite_engine: Engine) -> None:
    """A lines-dump paper (no date) gets a later listing's date, and keeps the earliest given."""
    upsert_papers(sqlite_engine, [paper("Late Date")], source="lines", now=T0)
    upsert_papers(
        sqlite_engine, [paper("Late Date", published=date(2024, 1, 2))], source="b", now=T1
    )
    upsert_papers(
        sqlite_engine, [paper("Late Date", published=date(1999, 1, 1))], source="c", now=T1
    )
    got = get_papers(sqlite_engine, [paper_id("Late Date")])[paper_id("Late Date")]
    assert got.paper.published == date(1999, 1, 1)


def test_it_round_trips_every_field(engine: Engine) -> None:
    """Lists, dates and the extra mapping come back as stored."""
    p = paper(
        "Full",
        "2602.23229",
        authors=("A", "B"),
        n_authors=2,
        published=date(2026, 2, 26),
        url="https://huggingface.co/papers/2602.23229",
        categories=("cs.CL",),
        doi="10.1/x",
        announce_type="new",
        extra={"upvotes": 4, "row": {"numComments": 1}},
    )
    upsert_papers(engine, [p], source="a", now=T0)
    assert get_papers(engine, [p.id, "missing"])[p.id].paper == p


def test_it_lists_papers_first_seen_in_a_window(engine: Engine) -> None:
    """Start is inclusive, end exclusive, ordered by first_seen then id."""
    upsert_papers(engine, [paper("B"), paper("A")], source="s", now=T0)
    upsert_papers(engine, [paper("C")], source="s", now=T1)
    everything = papers_first_seen_between(engine, None, None)
    assert [sp.first_seen for sp in everything] == [T0, T0, T1]
    assert [sp.paper.id for sp in everything[:2]] == sorted(sp.paper.id for sp in everything[:2])
    assert [sp.paper.title for sp in papers_first_seen_between(engine, T1, None)] == ["C"]
    assert len(papers_first_seen_between(engine, T0, T1)) == 2
    assert papers_first_seen_between(engine, None, T0) == []


def test_it_upserts_ten_thousand_papers_in_few_statements(engine: Engine) -> None:
    """A large batch is stored whole (chunked queries), then found known whole."""
    batch = [paper(f"Paper number {k}", f"2601.{k:05d}") for k in range(1200)]
    assert upsert_papers(engine, batch, source="big", now=T0).new == 1200
    assert upsert_papers(engine, batch, source="big", now=T1).known == 1200
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(paper_sources)).scalar_one() == 1200


def fetch(source: str, at: datetime, status: str = "ok") -> FetchRecord:
    """A fetch-log record of ``source`` at ``at``."""
    return FetchRecord(
        source=source,
        location=f"/data/{source}",
        started_at=at,
        finished_at=at + timedelta(seconds=5),
        status=FetchStatus(status),
        n_parsed=3,
        n_new=2,
        n_known=1,
        error="boom" if status == "error" else None,
    )


def test_it_keeps_a_fetch_log(engine: Engine) -> None:
    """latest_fetches gives each source's latest row; failures are not successes."""
    record_fetch(engine, fetch("a", T0))
    record_fetch(engine, fetch("a", T1, "error"))
    record_fetch(engine, fetch("b", T0, "not_modified"))
    latest = latest_fetches(engine)
    assert [(r.source, r.status) for r in latest] == [("a", "error"), ("b", "not_modified")]
    assert latest[0] == fetch("a", T1, "error")
    assert last_successful_fetch(engine, "a") == T0 + timedelta(seconds=5)
    assert last_successful_fetch(engine) == T0 + timedelta(seconds=5)
    assert last_successful_fetch(engine, "nope") is None


def test_it_prunes_old_fetch_log_rows(sqlite_engine: Engine) -> None:
    """Rows started before the cutoff go; later ones stay."""
    record_fetch(sqlite_engine, fetch("a", T0))
    record_fetch(sqlite_engine, fetch("a", T1))
    assert prune_fetch_log(sqlite_engine, before=T1) == 1
    assert [r.started_at for r in latest_fetches(sqlite_engine)] == [T1]


def test_it_remembers_ingested_files_per_source(sqlite_engine: Engine) -> None:
    """A content hash is known for the source that ingested it, not for others."""
    record_ingested_file(
        sqlite_engine, source="inbox", content_hash="abc", path="x", n_papers=3, now=T0
    )
    record_ingested_file(
        sqlite_engine, source="inbox", content_hash="abc", path="y", n_papers=3, now=T1
    )
    assert ingested_hashes(sqlite_engine, "inbox", ["abc", "def"]) == {"abc"}
    assert ingested_hashes(sqlite_engine, "other", ["abc"]) == set()


def test_it_remembers_http_validators(engine: Engine) -> None:
    """ETag and Last-Modified are kept per URL and replaced on change."""
    url = "https://example.org/daily.json"
    assert http_validators(engine, url) == (None, None)
    save_http_validators(engine, url, etag='"v1"', last_modified=None, now=T0)
    save_http_validators(engine, url, etag='"v2"', last_modified="Mon, 02 Mar 2026", now=T1)
    assert http_validators(engine, url) == ('"v2"', "Mon, 02 Mar 2026")


def test_it_copies_paper_fields_not_references(sqlite_engine: Engine) -> None:
    """Changing a stored paper's copy changes nothing in the store."""
    p = paper("Immutable", extra={"k": [1]})
    upsert_papers(sqlite_engine, [p], source="a", now=T0)
    got = get_papers(sqlite_engine, [p.id])[p.id].paper
    assert replace(got, title="x").title == "x"
    assert get_papers(sqlite_engine, [p.id])[p.id].paper.title == "Immutable"

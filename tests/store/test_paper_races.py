"""Two sources storing the same paper at the same moment (fetch jobs run side by side,
arXiv feeds overlap through cross-lists) end as one stored paper seen by both.

Each test lets source B store its listing in the exact window between source A's read
of what is stored and A's write, on a second engine, as another fetch job or process
would: with A's write lock held (or PostgreSQL's advisory lock) B waits for A; without,
B's store completes in between and A acts on a stale read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event, func, select

from alertbot.model import Paper, paper_id
from alertbot.store import connect
from alertbot.store.papers import upsert_papers
from alertbot.store.schema import paper_sources, papers

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@contextmanager
def meanwhile(engine: Engine, competitor: Callable[[], object]) -> Iterator[list[BaseException]]:
    """Run ``competitor`` (on another engine) once ``engine`` has read the stored papers,
    before it writes; its errors are collected."""
    errors: list[BaseException] = []
    started: list[threading.Thread] = []

    def run() -> None:
        try:
            competitor()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if started or not statement.lstrip().upper().startswith("SELECT"):
            return
        if "FROM papers" not in statement:
            return
        thread = threading.Thread(target=run)
        started.append(thread)
        thread.start()
        thread.join(timeout=0.5)  # long enough to finish unless it waits for our lock

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield errors
    finally:
        event.remove(engine, "after_cursor_execute", after)
        for thread in started:
            thread.join(timeout=15)
    assert started, "the competitor never ran: the read it waits for did not happen"


def listing(title: str, arxiv: str | None = None) -> Paper:
    return Paper(
        id=paper_id(title, arxiv),
        title=title,
        abstract="An abstract.",
        source_format="arxiv" if arxiv else "rss",
        arxiv_id=arxiv,
    )


def test_the_same_paper_from_two_sources_at_once_is_stored_once_for_both(
    db_url: str, engine: Engine
) -> None:
    """Seen by the audit: the second source failed on the primary key and lost its fetch."""
    paper = listing("A paper on sparse attention", "2412.00001")
    other = connect(db_url)
    try:
        with meanwhile(
            engine, lambda: upsert_papers(other, [paper], source="stat.ML", now=NOW)
        ) as errors:
            upsert_papers(engine, [paper], source="cs.LG", now=NOW)
    finally:
        other.dispose()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(papers)).scalar_one() == 1
        sources = conn.execute(select(paper_sources.c.source).order_by(paper_sources.c.source))
        assert list(sources.scalars()) == ["cs.LG", "stat.ML"]


def test_an_arxiv_listing_and_a_title_listing_at_once_are_one_paper(
    db_url: str, engine: Engine
) -> None:
    """Seen by the audit: the arXiv row and the title-hash row both went in, and the
    paper showed twice in later digests; stored one after the other they merge."""
    title = "Diffusion models for everything"
    other = connect(db_url)
    try:
        title_only = listing(title)
        competitor = lambda: upsert_papers(other, [title_only], source="journal", now=NOW)  # noqa: E731
        with meanwhile(engine, competitor) as errors:
            upsert_papers(engine, [listing(title, "2412.00002")], source="arxiv", now=NOW)
    finally:
        other.dispose()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(papers)).scalar_one() == 1

"""Two sources storing the same paper at the same moment (fetch jobs run side by side,
arXiv feeds overlap through cross-lists) end as one stored paper seen by both.

Each test lets source B store its listing (a ``Rival``, on a second engine, as another
fetch job or process would) in the window between source A's read of what is stored and
A's write: with A's lock held B waits for A; without, B's store completes in between and
A acts on a stale read.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from alertbot.model import Paper, paper_id
from alertbot.store import connect
from alertbot.store.papers import upsert_papers
from alertbot.store.schema import paper_sources, papers
from tests.helpers.races import Rival, reads

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


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
        rival = Rival(lambda: upsert_papers(other, [paper], source="stat.ML", now=NOW))
        with rival.at(engine, reads("papers"), after=True):
            upsert_papers(engine, [paper], source="cs.LG", now=NOW)
        assert rival.result().new_ids == []  # it waited, and found the paper stored
    finally:
        other.dispose()
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
        rival = Rival(lambda: upsert_papers(other, [title_only], source="journal", now=NOW))
        with rival.at(engine, reads("papers"), after=True):
            upsert_papers(engine, [listing(title, "2412.00002")], source="arxiv", now=NOW)
        rival.result()
    finally:
        other.dispose()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(papers)).scalar_one() == 1

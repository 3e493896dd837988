"""A paper met in arXiv's RSS and in Hugging Face's JSON is the same, whichever came first."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from alertbot.model import Paper
from alertbot.parse import parse_bytes
from alertbot.store.papers import get_papers, upsert_papers
from tests.helpers import FIXTURES

REAL = FIXTURES / "real"
T0 = datetime(2026, 9, 24, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 9, 25, 9, 0, tzinfo=UTC)
PAPER = "2609.26820"


def rss_paper() -> Paper:
    data = (REAL / "rss-arxiv-cs.LG+cs.AI+cs.CL+stat.ML.rss.xml").read_bytes()
    papers = parse_bytes(data, name="rss", fetched_at=T0).papers
    return next(p for p in papers if p.id == PAPER)


def hf_paper() -> Paper:
    """The same paper as the HF JSON describes it: links, upvotes, its submission date."""
    rss = rss_paper()
    row = {
        "paper": {
            "id": PAPER,
            "title": rss.title,
            "summary": rss.abstract,
            "authors": [{"name": a, "hidden": False} for a in rss.authors],
            "publishedAt": "2026-09-23T17:31:02.000Z",
            "upvotes": 12,
            "githubRepo": "https://github.com/example/signal2symbol",
            "projectPage": "https://example.org/signal2symbol",
        }
    }
    return parse_bytes(json.dumps([row]).encode(), name="hf", fetched_at=T0).papers[0]


SHOWN = (
    "title", "abstract", "authors", "published", "url", "arxiv_id", "categories",
    "primary_category", "announce_type", "github_repo", "project_page", "upvotes", "hf_url",
)  # fmt: skip


@pytest.mark.parametrize("order", ["rss-then-hf", "hf-then-rss"])
def test_it_merges_arxiv_and_hf_the_same_whatever_the_fetch_order(
    engine: Engine, order: str
) -> None:
    """HF's links, upvotes and page survive an RSS-first fetch; the date is the earliest."""
    first, second = (
        (rss_paper(), hf_paper()) if order == "rss-then-hf" else (hf_paper(), rss_paper())
    )
    upsert_papers(engine, [first], source="first", now=T0)
    upsert_papers(engine, [second], source="second", now=T1)
    stored = get_papers(engine, [PAPER])[PAPER].paper
    expected = {
        **{name: getattr(rss_paper(), name) for name in SHOWN},
        "published": date(2026, 9, 23),
        "github_repo": "https://github.com/example/signal2symbol",
        "project_page": "https://example.org/signal2symbol",
        "upvotes": 12,
        "hf_url": f"https://huggingface.co/papers/{PAPER}",
    }
    assert {name: getattr(stored, name) for name in SHOWN} == expected


def test_it_repairs_an_empty_abstract_with_a_later_complete_listing(engine: Engine) -> None:
    """A paper stored without abstract (an old half entry) gets the complete one later."""
    complete = rss_paper()
    half = Paper(id=PAPER, title=complete.title, abstract="", source_format="feed", arxiv_id=PAPER)
    upsert_papers(engine, [half], source="a", now=T0)
    upsert_papers(engine, [complete], source="b", now=T1)
    stored = get_papers(engine, [PAPER])[PAPER].paper
    assert stored.abstract == complete.abstract
    assert stored.authors == complete.authors


def test_it_keeps_the_latest_upvote_count(sqlite_engine: Engine) -> None:
    """Upvotes only grow: a later listing's count replaces the stored one."""
    upsert_papers(sqlite_engine, [hf_paper()], source="hf", now=T0)
    upsert_papers(sqlite_engine, [replace(hf_paper(), upvotes=40)], source="hf", now=T1)
    assert get_papers(sqlite_engine, [PAPER])[PAPER].paper.upvotes == 40

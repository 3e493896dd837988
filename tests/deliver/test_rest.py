"""The matches beyond a digest's cap, stored on its row for the web page: exactly the
reference matcher's, ranked, with the interests that matched; their highlights, worked
out when the page opens, are the reference matcher's too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from alertbot.corpus import load_corpus
from alertbot.deliver import queue_due
from alertbot.match import explain_match, match_profile
from alertbot.model import Paper, Profile
from alertbot.store import deliveries
from alertbot.store import profiles as profile_store
from tests.helpers.delivery import NOW, make_papers, make_settings

PROFILE = Profile(interests=("diffusion", "graph neural", "sparse OR robot"), max_papers=3)


def test_the_rest_is_the_reference_matchers_ranking_beyond_the_cap(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """30 papers, 3 shown: the row's shown + rest are match_profile's ranking, scores
    equal, and each of them (all stored bare), explained, equals match_profile's Match
    (the interests that matched, the hits); ``more`` counts the rest."""
    papers = {p.id: p for p in stock(make_papers(30))}
    reader = subscribe("Reader", "reader@example.org")
    profile_store.set_profile(engine, reader.id, PROFILE, now=NOW)
    settings = make_settings(tmp_path)
    queue_due(engine, settings, now=NOW)
    (row,) = deliveries.list_rows(engine)
    stats = load_corpus(engine, now=NOW, days=settings.match.corpus_days).stats
    reference = match_profile(PROFILE, list(papers.values()), stats)
    assert len(reference) > 3
    shown, rest = row.matches(), row.rest()
    assert [m.paper_id for m in (*shown, *rest)] == [m.paper_id for m in reference]
    assert row.more == len(rest) == len(reference) - 3
    assert row.matches_bare
    for stored, expected in zip((*shown, *rest), reference, strict=True):
        assert stored.hits == ()
        assert (stored.score, stored.interests) == (expected.score, PROFILE.interests)
        assert explain_match(stored, papers[stored.paper_id]) == expected

"""The columnar MatchTable: counts and rankings without Match objects, Matches on demand,
and an index kept across ticks while the profiles do not change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pytest

from alertbot.digest import build_digest
from alertbot.match import CorpusStats, IndexCache, ProfileIndex, match_profile
from alertbot.match.table import MatchTable
from alertbot.model import Endpoint, EndpointKind, Match, Profile, Subscriber
from tests.match.papers import paper

PAPERS = [
    paper(f"Graph networks {i}", "graph neural networks" + " graph" * (i % 4), id=f"p{i}")
    for i in range(12)
] + [paper("Trees only", "decision trees", id="t")]
PROFILE = Profile(("graph", "ti:networks"), max_papers=3)


def table() -> MatchTable[str]:
    return ProfileIndex.build({"ann": PROFILE}).table(PAPERS, CorpusStats.from_papers(PAPERS))


def test_it_counts_and_ranks_without_building_matches() -> None:
    """count and the ranked paper ids come from the columns, equal to match_profile's."""
    found = table()
    reference = match_profile(PROFILE, PAPERS, CorpusStats.from_papers(PAPERS))
    assert found.count("ann") == len(reference) == 12
    assert found.matches("ann").paper_ids() == [m.paper_id for m in reference]
    assert found.top("ann", 3) == (reference[:3], 9)


def test_a_digest_builds_only_the_matches_it_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    """build_digest on a lazy sequence builds max_papers Matches and counts the rest."""
    built: list[int] = []
    real = MatchTable.build_rows

    def counting(self: MatchTable[str], i: int, rows: Sequence[int]) -> list[Match]:
        built.extend(rows)
        return real(self, i, rows)

    monkeypatch.setattr(MatchTable, "build_rows", counting)
    found = table()
    endpoint = Endpoint(1, 1, EndpointKind.EMAIL, "a@b.org")
    sub = Subscriber(1, "Ann", PROFILE, endpoints=(endpoint,))
    lazy = found.matches("ann")
    digest = build_digest(
        sub, endpoint, date(2026, 1, 1), PAPERS, found.stats,
        lambda _profile, papers, _stats: lazy.among({x.id for x in papers}),
    )  # fmt: skip
    assert len(digest.items) == 3
    assert digest.more == 9
    assert len(built) == 3


def test_among_keeps_the_ranking_to_some_papers() -> None:
    """among() is the same order restricted to the given ids."""
    lazy = table().matches("ann")
    ids = lazy.paper_ids()
    kept = lazy.among({ids[5], ids[1], "t"})
    assert kept.paper_ids() == [ids[1], ids[5]]
    assert [m.paper_id for m in kept] == [ids[1], ids[5]]
    with pytest.raises(IndexError):
        kept[2]


def test_it_keeps_the_index_while_the_profiles_are_unchanged() -> None:
    """IndexCache returns the same compiled index for equal profiles, a new one otherwise,
    and a kept index matches new papers with new statistics like a fresh one."""
    cache: IndexCache[str] = IndexCache()
    first = cache.get({"ann": PROFILE})
    assert cache.get({"ann": Profile(("graph", "ti:networks"), max_papers=3)}) is first
    changed = cache.get({"ann": Profile(("trees",))})
    assert changed is not first
    later = [paper("Decision trees again", "trees", id="x")]
    stats = CorpusStats.from_papers(later)
    assert changed.match(later, stats) == ProfileIndex.build({"ann": Profile(("trees",))}).match(
        later, stats
    )

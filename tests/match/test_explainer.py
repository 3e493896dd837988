"""The Explainer: a digest stored bare (the profile's interests, the papers, their scores)
explained at send time exactly as the matcher explains it, whatever is kept between
readers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from alertbot.bench.workload import real_papers, realistic_profiles
from alertbot.match import CorpusStats, Explainer, IndexCache, explain_match
from alertbot.model import Hit, Match
from alertbot.samples import sample_dump_paths
from alertbot.sources import load_papers
from tests.match.papers import paper

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _bare(match: Match, interests: tuple[str, ...]) -> Match:
    return Match(match.paper_id, match.score, interests)


def test_it_explains_every_match_of_realistic_readers_as_the_matcher_does() -> None:
    """400 realistic profiles over 300 real papers: every ranked match, stored bare and
    explained by one shared Explainer, equals the MatchTable's (match_profile's) Match."""
    seed = [p for path in sample_dump_paths() for p in load_papers(str(path), now=NOW)]
    papers = real_papers(seed, 300)
    profiles = realistic_profiles(papers, 400)
    index = IndexCache[int]().get(profiles)
    table = index.table(papers, CorpusStats.from_papers(papers))
    by_id = {p.id: p for p in papers}
    explain = Explainer()
    checked = 0
    for key in index.keys:
        expected = list(table.matches(key))
        interests = profiles[key].interests
        assert [explain(_bare(m, interests), by_id[m.paper_id]) for m in expected] == expected
        checked += len(expected)
    assert checked > 2000  # readers share interests: the memo is exercised


def test_it_stays_right_when_its_memo_is_emptied() -> None:
    """A memo bound of 1 empties it all the time; the explanations do not change."""
    papers = [paper("Graph diffusion", "graph neural diffusion", id=f"p{i}") for i in range(3)]
    interests = ("graph", "diffusion", "ti:trees")
    small, fresh = Explainer(limit=1), Explainer()
    for p in papers * 2:
        assert small(Match(p.id, 1.0, interests), p) == fresh(Match(p.id, 1.0, interests), p)


def test_it_highlights_the_text_the_paper_has_now() -> None:
    """A paper repaired under the same id (a later, complete listing) is explained on its
    new text: the spans point into what will be rendered."""
    explain = Explainer()
    short = paper("Diffusion", "", id="x")
    longer = replace(short, title="Fast diffusion")
    assert explain(Match("x", 1.0, ("diffusion",)), short).hits == (
        Hit("diffusion", "title", "diffusion", ((0, 9),)),
    )
    assert explain(Match("x", 1.0, ("diffusion",)), longer).hits == (
        Hit("diffusion", "title", "diffusion", ((5, 14),)),
    )


def test_it_names_only_the_interests_true_on_the_paper_and_keeps_the_score() -> None:
    """Of the profile's interests, those that match the paper are named (with their
    hits), one that no longer parses is left out, and the stored score is kept."""
    p = paper("Graph networks", "message passing", id="g")
    found = Explainer()(Match("g", 2.5, ("graph", "robot", '"unclosed')), p)
    assert (found.score, found.interests) == (2.5, ("graph",))
    assert found == explain_match(Match("g", 2.5, ("graph", "robot", '"unclosed')), p)
    assert [h.interest for h in found.hits] == ["graph"]

"""Scoring: rare terms, titles, phrases and weights count more; stats come from the corpus."""

from __future__ import annotations

import math

from alertbot.match import CorpusStats, match_profile
from alertbot.model import Paper, Profile
from tests.match.papers import paper

FILLER = "We study methods and report results on several tasks with models. " * 3


def score(query: str, papers: list[Paper], stats: CorpusStats, target: int = 0) -> float:
    found = {m.paper_id: m.score for m in match_profile(Profile((query,)), papers, stats)}
    return found[papers[target].id]


def test_it_scores_rare_terms_higher() -> None:
    """Of two words in one paper, the one fewer papers contain scores more."""
    target = paper("x", "graph transformer " + FILLER)
    others = [paper(f"p{i}", "graph " + FILLER) for i in range(5)]
    stats = CorpusStats.from_papers([target, *others])
    assert score("transformer", [target], stats) > score("graph", [target], stats)


def test_it_scores_a_title_match_above_an_abstract_match() -> None:
    """The same term counts more in the title than in the abstract."""
    in_title = paper("Graph methods", FILLER)
    in_abstract = paper("Some methods", "graph " + FILLER)
    papers = [in_title, in_abstract]
    stats = CorpusStats.from_papers(papers)
    assert score("graph", papers, stats, 0) > score("graph", papers, stats, 1)


def test_it_scores_an_exact_phrase_above_scattered_words() -> None:
    """'neural network' as a phrase beats the same words apart."""
    together = paper("x", "a neural network " + FILLER)
    apart = paper("y", "a neural " + FILLER + " network")
    papers = [together, apart]
    stats = CorpusStats.from_papers(papers)
    assert score('"neural network"', papers, stats, 0) > score("neural network", papers, stats, 1)


def test_it_multiplies_by_the_weight() -> None:
    """term^2 scores exactly twice term."""
    papers = [paper("Graph", FILLER)]
    stats = CorpusStats.from_papers(papers)
    assert math.isclose(score("graph^2", papers, stats), 2 * score("graph", papers, stats))


def test_it_sums_the_interests_that_matched() -> None:
    """A profile's score is the sum of its matching interests' scores."""
    papers = [paper("Graph transformer", FILLER)]
    stats = CorpusStats.from_papers(papers)
    both = match_profile(Profile(("graph", "transformer", "absent")), papers, stats)[0]
    parts = score("graph", papers, stats) + score("transformer", papers, stats)
    assert math.isclose(both.score, parts)
    assert both.interests == ("graph", "transformer")


def test_it_counts_document_frequency_once_per_paper() -> None:
    """from_papers counts papers containing a stem, not occurrences."""
    stats = CorpusStats.from_papers([paper("Graph graph", "graphs"), paper("Tree", "graph")])
    assert stats.n_docs == 2
    assert stats.df["graph"] == 2
    assert stats.df["tree"] == 1


def test_it_scores_with_empty_stats() -> None:
    """With no corpus every term has the same positive idf and matching still works."""
    stats = CorpusStats.empty()
    assert stats.idf("anything") == stats.idf("else") > 0
    assert match_profile(Profile(("graph",)), [paper("Graph", "")], stats)[0].score > 0

"""Building a digest: matching, ranking, the cap and the "and N more" count."""

from __future__ import annotations

from alertbot.digest import build_digest
from alertbot.match import CorpusStats
from alertbot.model import Profile
from tests.helpers.builders import DAY, email_endpoint, paper, subscriber


def test_it_keeps_only_matching_papers_best_first() -> None:
    """Papers that match no interest are left out, and the best match comes first."""
    strong = paper(1, title="Graph graph graph networks", abstract="graph methods for graph data")
    weak = paper(2, title="Something else", abstract="one graph in passing among many words")
    unrelated = paper(3, title="Protein folding", abstract="Nothing to see here.")
    papers = [weak, unrelated, strong]
    result = build_digest(
        subscriber(), email_endpoint(), DAY, papers, CorpusStats.from_papers(papers)
    )
    assert [i.paper.id for i in result.items] == [strong.id, weak.id]
    assert result.more == 0


def test_it_caps_at_max_papers_and_counts_the_rest() -> None:
    """Beyond profile.max_papers, matching papers are counted in ``more``, not listed."""
    papers = [paper(n) for n in range(1, 8)]
    sub = subscriber(Profile(interests=("graph",), max_papers=3))
    result = build_digest(sub, email_endpoint(), DAY, papers, CorpusStats.from_papers(papers))
    assert len(result.items) == 3
    assert result.more == 4


def test_it_gives_an_empty_digest_on_a_day_without_match() -> None:
    """No match gives a digest with no items; sending it or not is the caller's choice."""
    papers = [paper(1, title="Protein folding", abstract="Proteins.")]
    result = build_digest(
        subscriber(), email_endpoint(), DAY, papers, CorpusStats.from_papers(papers)
    )
    assert result.is_empty
    assert result.more == 0
    assert result.digest_date == DAY


def test_it_applies_exclusions() -> None:
    """A paper matching an exclusion never enters the digest."""
    papers = [paper(1), paper(2, title="A survey of graph methods")]
    sub = subscriber(Profile(interests=("graph",), exclusions=("survey",)))
    result = build_digest(sub, email_endpoint(), DAY, papers, CorpusStats.from_papers(papers))
    assert [i.paper.id for i in result.items] == [papers[0].id]


def test_it_lists_a_paper_given_twice_once() -> None:
    """A candidate list with the same paper twice still yields it once."""
    p = paper(1)
    result = build_digest(subscriber(), email_endpoint(), DAY, [p, p], CorpusStats.from_papers([p]))
    assert len(result.items) == 1

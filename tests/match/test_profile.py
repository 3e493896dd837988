"""Profiles: interests, exclusions, minimum score, explanations and deterministic ranking."""

from __future__ import annotations

from datetime import date

import pytest

from alertbot.match import CorpusStats, QueryError, match_profile, validate_profile
from alertbot.match.index import ProfileIndex
from alertbot.model import Paper, Profile
from tests.match.papers import paper

STATS = CorpusStats.empty()


def ids(profile: Profile, papers: list[Paper]) -> list[str]:
    return [m.paper_id for m in match_profile(profile, papers, STATS)]


def test_it_needs_every_bare_word() -> None:
    """Bare words are ANDed: a paper lacking one does not match."""
    both = paper("Graph transformer", "", id="both")
    one = paper("Graph methods", "", id="one")
    assert ids(Profile(("graph transformer",)), [both, one]) == ["both"]


def test_it_matches_phrases_only_when_consecutive() -> None:
    """A phrase needs its words in order and adjacent, across hyphens."""
    hyphen = paper("Self-attention layers", "", id="hyphen")
    apart = paper("Self study of attention", "", id="apart")
    assert ids(Profile(('"self attention"',)), [hyphen, apart]) == ["hyphen"]


def test_it_restricts_fields() -> None:
    """ti:, abs: and au: look only in their field."""
    p = paper("Graph", "tree", id="p", authors=("Ann Smith",))
    assert ids(Profile(("ti:graph",)), [p]) == ["p"]
    assert ids(Profile(("abs:graph",)), [p]) == []
    assert ids(Profile(("au:smith",)), [p]) == ["p"]
    assert ids(Profile(("smith",)), [p]) == []


def test_it_matches_prefix_wildcards_on_whole_words() -> None:
    """quantiz* reaches quantization and quantized; rnn* never reaches crnn."""
    papers = [
        paper("Quantization", "", id="a"),
        paper("Quantized nets", "", id="b"),
        paper("CRNN", "", id="c"),
    ]
    assert sorted(ids(Profile(("quantiz*",)), papers)) == ["a", "b"]
    assert ids(Profile(("rnn*",)), papers) == []


def test_it_vetoes_papers_an_exclusion_matches() -> None:
    """An exclusion removes a paper even when an interest matches."""
    papers = [paper("Attention survey", "", id="s"), paper("Attention", "", id="a")]
    assert ids(Profile(("attention",), ("survey",)), papers) == ["a"]


def test_it_applies_the_minimum_score() -> None:
    """Papers scoring below min_score are dropped."""
    papers = [paper("Graph", "", id="g")]
    best = match_profile(Profile(("graph",)), papers, STATS)[0].score
    assert ids(Profile(("graph",), min_score=best), papers) == ["g"]
    assert ids(Profile(("graph",), min_score=best + 0.01), papers) == []


def test_it_explains_each_hit_with_spans() -> None:
    """Hits name the interest, field and term, with spans into the original text."""
    p = paper("Neural Machine Translation", "We improve NMT. NMT is hard.")
    [m] = match_profile(Profile(('"neural machine translation" OR NMT',)), [p], STATS)
    by_field = {(h.field, h.term): h.spans for h in m.hits}
    assert by_field == {
        ("title", "neural machine translation"): ((0, 26),),
        ("abstract", "NMT"): ((11, 14), (16, 19)),
    }
    assert {h.interest for h in m.hits} == {'"neural machine translation" OR NMT'}


def test_it_explains_only_branches_that_matched() -> None:
    """Words of an OR branch that failed as a whole are not highlighted."""
    p = paper("Graph", "transformer")
    [m] = match_profile(Profile(("(graph tree) OR transformer",)), [p], STATS)
    assert [h.term for h in m.hits] == ["transformer"]


def test_it_ranks_by_score_then_date_then_id() -> None:
    """Ties on score go to the newer paper, then to the smaller id; undated last."""
    papers = [
        paper("Graph", "", id="b", published=date(2026, 1, 1)),
        paper("Graph", "", id="a", published=date(2026, 1, 1)),
        paper("Graph", "", id="c", published=date(2026, 1, 2)),
        paper("Graph", "", id="d"),
        paper("Graph graph", "", id="z"),
    ]
    assert ids(Profile(("graph",)), papers) == ["z", "c", "a", "b", "d"]


def test_it_names_the_failing_interest() -> None:
    """validate_profile says which interest or exclusion is wrong and where."""
    with pytest.raises(QueryError, match=r"interest 2 'graph \"x': unclosed quote at column 7"):
        validate_profile(Profile(("ok", 'graph "x')))
    with pytest.raises(QueryError, match="exclusion 1 '-survey': query has no positive term"):
        validate_profile(Profile(("ok",), ("-survey",)))


def test_an_interest_is_parsed_once_for_every_index_that_holds_it() -> None:
    """A tick builds an index per planning bucket; readers in different buckets who share
    an interest share its one parsed tree, and a text that fails fails every time."""
    shared = 'ti:reverse index* OR "query inversion"'  # a text no other test parses
    first = ProfileIndex.build({1: Profile((shared,))})
    second = ProfileIndex.build({2: Profile((shared, "graph"))})
    assert first.trees[shared] is second.trees[shared]
    for _ in range(2):
        with pytest.raises(QueryError, match="unclosed quote"):
            ProfileIndex.build({3: Profile(('graph "x',))})


def test_it_matches_nothing_without_interests() -> None:
    """An empty profile matches no paper."""
    assert ids(Profile(), [paper("Graph", "")]) == []


def test_it_matches_categories_whole_by_prefix_and_excluded() -> None:
    """cat:cs.LG is one whole category (any case), cs.* a prefix, -cat: a veto."""
    lg = paper("Graph nets", "", id="lg", categories=("cs.LG", "stat.ML"))
    ap = paper("Graph flows", "", id="ap", categories=("math.AP", "cs.NA"))
    lgs = paper("Graph sets", "", id="lgs", categories=("cs.LGS",))
    words = paper("Graph cs lg", "cs.LG in text", id="words")
    papers = [lg, ap, lgs, words]
    assert ids(Profile(("cat:cs.lg",)), papers) == ["lg"]
    assert ids(Profile(("cat:CS.*",)), papers) == ["ap", "lg", "lgs"]
    assert ids(Profile(("graph -cat:math.*",)), papers) == ["lg", "lgs", "words"]
    assert ids(Profile(("graph",), ("cat:math.*",)), papers) == ["lg", "lgs", "words"]


def test_a_category_filters_without_scoring_or_highlighting() -> None:
    """A category adds nothing to the score and has no highlight."""
    p = paper("Graph nets", "", id="p", categories=("cs.LG",))
    stats = CorpusStats.from_papers([p, paper("Other", "")])
    [with_cat] = match_profile(Profile(("graph cat:cs.LG",)), [p], stats)
    [without] = match_profile(Profile(("graph",)), [p], stats)
    assert with_cat.score == without.score > 0
    assert [h.term for h in with_cat.hits] == ["graph"]
    [only] = match_profile(Profile(("cat:cs.LG",)), [p], stats)
    assert (only.score, only.hits, only.interests) == (0.0, (), ("cat:cs.LG",))

"""Properties of the matcher that must hold for any query and any papers (Hypothesis)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertbot.match import CorpusStats, ProfileIndex, QueryError, index, match_profile, naive_match
from alertbot.match.query import parse_query
from alertbot.model import Paper, Profile
from tests.match.papers import paper

WORDS = [
    "graph", "graphs", "neural", "network", "networks", "llm", "llms", "survey", "surveys",
    "self", "attention", "organ", "gan", "gans", "quantization", "quantized", "transformer",
    "straße", "ﬁne", "model",
]  # fmt: skip
FIELDS = ["", "", "", "ti:", "abs:", "au:"]
SETTINGS = settings(max_examples=40)
Render = Callable[[str], str]

texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).flatmap(
    lambda ws: st.sampled_from([" ", "-", ", "]).map(lambda sep: sep.join(ws))
)
CATEGORIES = ["cs.LG", "cs.CL", "math.AP", "stat.ML", "hep-th"]
papers_st = st.lists(
    st.builds(
        lambda i, t, a, au, cat: paper(t, a, id=f"p{i}", authors=tuple(au), categories=cat),
        st.integers(0, 10**6),
        texts,
        texts,
        st.lists(st.sampled_from(["Ann Graph", "Bob Survey", "Wei Model"]), max_size=2),
        st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True).map(tuple),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda p: p.id,
)


def _atom(draw: st.DrawFn) -> Callable[[Render], str]:
    kind = draw(st.integers(0, 4))
    if kind == 4:
        category = draw(st.sampled_from([*CATEGORIES, "cs.*", "math*"]))
        return lambda case: f"cat:{case(category)}"
    field = draw(st.sampled_from(FIELDS))
    a, b = draw(st.sampled_from(WORDS)), draw(st.sampled_from(WORDS))
    weight = draw(st.sampled_from(["", "", "^2"]))
    if kind == 0:
        return lambda case: f'{field}"{case(a)} {case(b)}"{weight}'
    if kind == 1 and len(a) >= 3:
        return lambda case: f"{field}{case(a[:3])}*"
    return lambda case: f"{field}{case(a)}{weight}"


@st.composite
def queries(draw: st.DrawFn, depth: int = 2) -> Callable[[Render], str]:
    """A query renderer: the same query with words in any case (operators untouched)."""
    if depth == 0 or draw(st.booleans()):
        return _atom(draw)
    left = draw(queries(depth - 1))
    right = draw(queries(depth - 1))
    op = draw(st.sampled_from([" ", " AND ", " OR ", " -", " NOT "]))
    return lambda case: f"({left(case)}{op}{right(case)})"


def ids(profile: Profile, papers: list[Paper]) -> set[str]:
    return {m.paper_id for m in match_profile(profile, papers, CorpusStats.from_papers(papers))}


@SETTINGS
@given(queries(), papers_st)
def test_it_matches_case_insensitively(query: Callable[[Render], str], papers: list[Paper]) -> None:
    """Upper-casing the query's words or the papers' text changes no match and no score."""
    stats = CorpusStats.from_papers(papers)
    lower = match_profile(Profile((query(str.lower),)), papers, stats)
    upper = match_profile(Profile((query(str.upper),)), papers, stats)
    shouting = [
        paper(
            p.title.upper(),
            p.abstract.upper(),
            id=p.id,
            authors=tuple(a.upper() for a in p.authors),
            categories=tuple(c.upper() for c in p.categories),
        )
        for p in papers
    ]
    on_shouting = match_profile(Profile((query(str.lower),)), shouting, stats)
    assert [(m.paper_id, m.score) for m in lower] == [(m.paper_id, m.score) for m in upper]
    assert [(m.paper_id, m.score) for m in lower] == [(m.paper_id, m.score) for m in on_shouting]


@SETTINGS
@given(queries(), queries(), papers_st)
def test_it_never_adds_a_match_with_an_exclusion(
    query: Callable[[Render], str], exclusion: Callable[[Render], str], papers: list[Paper]
) -> None:
    """Adding an exclusion can only remove papers."""
    interest = query(str.lower)
    try:
        with_exclusion = ids(Profile((interest,), (exclusion(str.lower),)), papers)
    except QueryError:
        return  # an exclusion without a positive term is refused, not silently applied
    assert with_exclusion <= ids(Profile((interest,)), papers)


@SETTINGS
@given(queries(), queries(), papers_st)
def test_it_matches_a_superset_with_or(
    a: Callable[[Render], str], b: Callable[[Render], str], papers: list[Paper]
) -> None:
    """'a OR b' matches every paper 'a' matches."""
    try:
        alone = ids(Profile((a(str.lower),)), papers)
        either = ids(Profile((f"{a(str.lower)} OR {b(str.lower)}",)), papers)
    except QueryError:
        return
    assert alone <= either


profiles_st = st.lists(
    st.builds(
        lambda i, e, s: (i, e, s),
        st.lists(queries(), min_size=0, max_size=3),
        st.lists(queries(1), max_size=2),
        st.sampled_from([0.0, 0.0, 1.0, 5.0]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40)
@given(profiles_st, papers_st)
def test_it_gives_the_same_results_indexed_and_naive(
    raw: list[tuple[list[Callable[[Render], str]], list[Callable[[Render], str]], float]],
    papers: list[Paper],
) -> None:
    """ProfileIndex.match equals match_profile for every profile, hits and order included."""
    profiles: dict[int, Profile] = {}
    for key, (interests, exclusions, min_score) in enumerate(raw):
        profile = Profile(
            tuple(q(str.lower) for q in interests),
            tuple(q(str.lower) for q in exclusions),
            min_score,
        )
        try:
            match_profile(profile, [], CorpusStats.empty())
        except QueryError:
            continue
        profiles[key] = profile
    stats = CorpusStats.from_papers(papers)
    assert ProfileIndex.build(profiles).match(papers, stats) == naive_match(profiles, papers, stats)


@settings(max_examples=150)
@given(st.text(alphabet=st.sampled_from('ab Gr-"()*^:2.ti OR AND NOT_ßﬁ'), max_size=30))
def test_it_never_raises_on_an_accepted_query(text: str) -> None:
    """Whatever the parser accepts, matching it never raises."""
    try:
        parse_query(text)
    except QueryError:
        return
    papers = [paper("Graph ab", "a b Gr ti"), paper("OR and", "not ßﬁ 2.2", authors=("Ab",))]
    stats = CorpusStats.from_papers(papers)
    match_profile(Profile((text,), (text,)), papers, stats)
    ProfileIndex.build({1: Profile((text,))}).match(papers, stats)


def test_it_agrees_with_naive_across_batches_and_on_huge_queries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Batches of 2 papers, blocks of 2 profiles and a query too big for normal form
    give the naive results."""
    monkeypatch.setattr(index, "BATCH", 2)
    monkeypatch.setattr(index, "PROFILE_CHUNK", 2)
    words = ["graph", "neural", "network", "survey", "model", "gan", "llm"]
    papers = [
        paper(" ".join(words[i % 7 : i % 7 + 3]), " ".join(words[(i * 3) % 7 :]), id=f"p{i}")
        for i in range(9)
    ]
    huge = " ".join(f"({a} OR {b})" for a, b in zip(words, words[1:] + words[:1], strict=True))
    profiles = {
        "huge": Profile((huge,)),
        "mixed": Profile(("graph", '"neural network" -survey', "gan*"), ("llm",)),
        "title": Profile(("ti:(graph OR model)",), min_score=0.5),
        "spelled": Profile(("(graph)", "graph^1")),  # one query tree, two texts
    }
    built = ProfileIndex.build(profiles)
    assert built.fallback  # the 2**7-conjunction query took the Python-int path
    stats = CorpusStats.from_papers(papers)
    assert built.match(papers, stats) == naive_match(profiles, papers, stats)


def test_it_names_the_profile_whose_query_is_bad() -> None:
    """ProfileIndex.build refuses a bad profile, naming its key and the interest."""
    with pytest.raises(QueryError, match=r"profile 'bob': interest 2 '\(x': unclosed '\('"):
        ProfileIndex.build({"ann": Profile(("ok",)), "bob": Profile(("fine", "(x"))})


def test_it_agrees_with_naive_on_long_phrases_repeats_and_every_field() -> None:
    """Phrases of 4+ words (overlapping too), repeated interests, author and category
    prefixes, weights under OR and AND gates: the index equals match_profile exactly."""
    words = ["graph", "neural", "network", "model", "graph", "neural", "network", "model", "graph"]
    papers = [
        paper(" ".join(words[i % 3 :]), " ".join(words[: 4 + i % 5]) * 2, id=f"p{i}",
              authors=("Ann Graphson", "Wei Model"), categories=("cs.LG",) if i % 2 else ())
        for i in range(7)
    ] + [paper("a a a a a", "a a a a a a", id="rep")]  # fmt: skip
    profiles = {
        "long": Profile(('"graph neural network model"', '"a a a a"')),
        "twice": Profile(("graph", "graph", "ti:graph^3")),
        "fields": Profile(("au:graph*", "cat:cs.* model"), min_score=0.0),
        "gated": Profile(("(graph neural^2) OR (model -network)", "(a OR (b c))^0.5 a")),
        "floor": Profile(("graph",), min_score=3.0),
    }
    stats = CorpusStats.from_papers(papers)
    assert ProfileIndex.build(profiles).match(papers, stats) == naive_match(profiles, papers, stats)


@SETTINGS
@given(queries(), queries(), papers_st, st.integers(1, 3))
def test_the_naive_reference_is_match_profile_for_each_profile(
    first: Callable[[Render], str], second: Callable[[Render], str], papers: list[Paper], chunk: int
) -> None:
    """naive_match, however many papers it takes at a time, is match_profile per profile."""
    profiles = {"a": Profile((first(str.lower),)), "b": Profile((second(str.lower),))}
    for profile in profiles.values():
        try:
            match_profile(profile, [], CorpusStats.empty())
        except QueryError:
            return
    stats = CorpusStats.from_papers(papers)
    expected = {k: m for k, p in profiles.items() if (m := match_profile(p, papers, stats))}
    assert naive_match(profiles, papers, stats, chunk=chunk) == expected


def test_the_naive_reference_ranks_repeated_papers_as_match_profile() -> None:
    """A paper listed twice (one id, two dates) ranks as match_profile ranks it, across
    chunks."""
    old = paper("Graph networks", id="x", published=date(2026, 1, 1))
    new = paper("Graph networks", id="x", published=date(2026, 1, 3))
    other = paper("Graph networks again", id="y", published=date(2026, 1, 2))
    papers = [old, other, new]
    profiles = {1: Profile(("graph",))}
    stats = CorpusStats.from_papers(papers)
    assert naive_match(profiles, papers, stats, chunk=1) == {
        1: match_profile(profiles[1], papers, stats)
    }

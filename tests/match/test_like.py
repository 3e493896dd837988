"""``like:`` interests in the query language: a paper by arXiv id or quoted title, a
whole interest on its own, refused at its column otherwise; the keyword engines match
nothing for it (the dispatcher's like pass does)."""

from __future__ import annotations

import pytest

from alertbot.match import (
    CorpusStats,
    ProfileIndex,
    QueryError,
    match_profile,
    parse_query,
    validate_profile,
)
from alertbot.match.like import is_like, parse_like
from alertbot.model import Profile
from tests.helpers.learning import corpus


@pytest.mark.parametrize(
    ("text", "arxiv", "title"),
    [
        ("like:2405.12345", "2405.12345", None),
        ("like:2405.12345v3", "2405.12345", None),
        ("  LIKE:hep-th/9901001", "hep-th/9901001", None),
        ('like:"Speculative  decoding at scale"', None, "Speculative decoding at scale"),
    ],
)
def test_it_reads_the_paper_a_like_interest_names(
    text: str, arxiv: str | None, title: str | None
) -> None:
    """An id (its version dropped) or a title (spaces folded)."""
    ref = parse_like(text)
    assert (ref.arxiv, ref.title) == (arxiv, title)
    assert is_like(text)
    parse_query(text)


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("like:", "needs an arXiv id or a quoted title", 6),
        ("like: 2405.12345", "right after the colon", 6),
        ("like:foo", "'foo' is not an arXiv id", 6),
        ("like:2405.12345x", "is not an arXiv id", 6),
        ('like:"open', "unclosed quote", 6),
        ('like:""', "a title with letters or digits", 6),
        ("like:2405.12345 gpu", "stands alone as an interest", 17),
        ('like:"a title" -survey', "stands alone as an interest", 16),
        ("gpu like:2405.12345", "stands alone as an interest", 5),
        ("(like:2405.12345)", "stands alone as an interest", 2),
    ],
)
def test_it_refuses_a_bad_like_at_its_column(text: str, message: str, column: int) -> None:
    """Each mistake is a QueryError naming it, at the 1-based column where it is."""
    with pytest.raises(QueryError) as refused:
        parse_query(text)
    assert message in refused.value.message
    assert refused.value.column == column


def test_a_like_exclusion_is_refused_in_a_profile() -> None:
    """like: is an interest only: as an exclusion the profile does not validate."""
    with pytest.raises(QueryError) as refused:
        validate_profile(Profile(("gpu",), ("like:2405.12345",)))
    assert str(refused.value).startswith("exclusion 1 'like:2405.12345': like: is an interest")


def test_the_keyword_engines_match_nothing_for_it() -> None:
    """Alone it matches no paper in either engine; beside a keyword interest the keyword
    matches are exactly those of the keyword interest alone."""
    papers = corpus()
    stats = CorpusStats.from_papers(papers)
    alone = Profile(("like:2611.00001",))
    both = Profile(("like:2611.00001", '"language model"'))
    keyword = Profile(('"language model"',))
    assert match_profile(alone, papers, stats) == []
    assert ProfileIndex.build({1: alone}).table(papers, stats).count(1) == 0
    expected = [(m.paper_id, m.score) for m in match_profile(keyword, papers, stats)]
    assert [(m.paper_id, m.score) for m in match_profile(both, papers, stats)] == expected
    table = ProfileIndex.build({1: both}).match(papers, stats)[1]
    assert [(m.paper_id, m.score) for m in table] == expected

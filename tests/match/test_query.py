"""The query language: every operator parses to the tree it promises, every error says where."""

from __future__ import annotations

import pytest

from alertbot.match.query import And, Not, Or, Prefix, QueryError, Term, parse_query


def word(text: str, field: str = "ta", weight: float = 1.0, stem: str | None = None) -> Term:
    return Term(field, (stem or text,), text, weight)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("graph", word("graph")),
        ("graph transformer", And((word("graph"), Term("ta", ("transform",), "transformer")))),
        ("graph AND tree", And((word("graph"), word("tree")))),
        ("graph OR tree", Or((word("graph"), word("tree")))),
        ("graph NOT tree", And((word("graph"), Not(word("tree"))))),
        ("graph -tree", And((word("graph"), Not(word("tree"))))),
        ("graph -(a b)", And((word("graph"), Not(And((word("a"), word("b"))))))),
        ('"neural network"', Term("ta", ("neural", "network"), "neural network")),
        ("self-attention", Term("ta", ("self", "attent"), "self-attention")),
        ("ti:graph", word("graph", "ti")),
        ("title:graph", word("graph", "ti")),
        ("abs:graph", word("graph", "abs")),
        ("abstract:graph", word("graph", "abs")),
        ("au:smith", word("smith", "au")),
        ("author:smith", word("smith", "au")),
        ('ti:"deep net"', Term("ti", ("deep", "net"), "deep net")),
        ("ti:(a OR b)", Or((word("a", "ti"), word("b", "ti")))),
        ("quantiz*", Prefix("ta", "quantiz")),
        ("ti:Quantiz*", Prefix("ti", "quantiz")),
        ("retrieval^2", Term("ta", ("retriev",), "retrieval", 2.0)),
        ('"state space"^3', Term("ta", ("state", "space"), "state space", 3.0)),
        ("(a OR b)^0.5", Or((word("a"), word("b")), 0.5)),
        ("a OR b c", Or((word("a"), And((word("b"), word("c")))))),
        ("(a OR b) c", And((Or((word("a"), word("b"))), word("c")))),
        ("graph or tree", And((word("graph"), word("or"), word("tree")))),
    ],
)
def test_it_parses_each_operator_into_its_tree(text: str, tree: object) -> None:
    """Each construct of the language parses to the documented tree."""
    assert parse_query(text).root == tree


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ('neural "machine', "unclosed quote", 8),
        ("", "empty query", None),
        ("   ", "empty query", None),
        ("(a b", "unclosed '('", 1),
        ("a b)", "unmatched ')'", 4),
        ("a ()", "empty parentheses", 3),
        ("OR a", "OR needs a term before it", 1),
        ("a OR", "OR needs a term after it", 3),
        ("a OR OR b", "OR needs a term after it", 3),
        ("a AND", "AND needs a term after it", 3),
        ("AND a", "AND needs a term before it", 1),
        ("a NOT", "NOT needs a term after it", 3),
        ("a -", "'-' needs a term after it", 3),
        ("foo:bar", "unknown field 'foo:'", 1),
        ("a ti:", "ti: needs a word, phrase or group after it", 3),
        ("ti:-a", "ti: needs a word, phrase or group after it", 1),
        ("ti:au:x", "field au: inside another field", 4),
        ("ti:(au:x)", "field au: inside another field", 5),
        ("a ^2", "'^' must follow a word, phrase or group", 3),
        ("a^", "'^' needs a number such as ^2", 2),
        ("a^x", "'^' needs a number such as ^2", 2),
        ("a^0", "weight must be above 0 and at most 100", 2),
        ("a^1000", "weight must be above 0 and at most 100", 2),
        ("qu*ant", "'*' is only allowed at the end of a word", 3),
        ("*", "'*' needs a word before it", 1),
        ("q*", "wildcard needs at least 2 letters before '*'", 1),
        ("self-att*", "wildcard on several words 'self-att*'", 1),
        ('"quant* model"', "wildcards are not allowed inside a phrase", 1),
        ('a ""', "empty phrase", 3),
        ("a +++", "'+++' has no letters or digits", 3),
        ("-survey", "query has no positive term", None),
        ("NOT survey", "query has no positive term", None),
        ("a OR -b", "query has no positive term", None),
    ],
)
def test_it_reports_what_and_where_for_each_error(
    text: str, message: str, column: int | None
) -> None:
    """A bad query raises QueryError whose message and column point at the problem."""
    with pytest.raises(QueryError) as info:
        parse_query(text)
    assert info.value.message.startswith(message)
    assert info.value.column == column


def test_it_formats_the_error_with_its_column() -> None:
    """str() of the error reads like 'unclosed quote at column 14'."""
    with pytest.raises(QueryError, match=r"^unclosed quote at column 14$"):
        parse_query('graph neural "machine')


def test_it_limits_the_length() -> None:
    """A query longer than max_length is refused with both numbers in the message."""
    with pytest.raises(QueryError, match="12 characters long; the limit is 10"):
        parse_query("graph neural", max_length=10)


def test_it_limits_the_number_of_terms() -> None:
    """More words/phrases than max_clauses is refused with a clear count."""
    with pytest.raises(QueryError, match="query has 4 terms; the limit is 3"):
        parse_query('a b "c d" ef*', max_clauses=3)


def test_it_accepts_exactly_the_limits() -> None:
    """A query at the length and term limits is accepted."""
    query = parse_query("a b c", max_length=5, max_clauses=3)
    assert query.n_clauses == 3


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("(" * 1000 + "a" + ")" * 1000, 33),
        ("-" * 1000 + "a b", 33),
        ("NOT " * 1000 + "a b", 129),
        ("a " + "(-" * 500 + "b" + ")" * 500, 35),
    ],
)
def test_it_refuses_nesting_deeper_than_the_cap_at_its_column(text: str, column: int) -> None:
    """A thousand nested groups or negations is a query error at the first level too
    deep, never a RecursionError."""
    with pytest.raises(QueryError) as info:
        parse_query(text, max_length=10_000, max_clauses=10_000)
    assert info.value.message == "nested more than 32 levels deep (parentheses and NOT/-)"
    assert info.value.column == column


def test_it_accepts_nesting_at_the_cap() -> None:
    """Exactly 32 levels of parentheses parse."""
    assert parse_query("(" * 32 + "a" + ")" * 32).root == word("a")


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("cat:cs.LG", Term("cat", ("cs.lg",), "cs.LG")),
        ("cat:hep-th", Term("cat", ("hep-th",), "hep-th")),
        ("cat:cs.*", Prefix("cat", "cs.")),
        ("cat:astro-ph*", Prefix("cat", "astro-ph")),
        ("cat:(cs.LG OR stat.ML)", Or((Term("cat", ("cs.lg",), "cs.LG"),
                                       Term("cat", ("stat.ml",), "stat.ML")))),
        ("graph -cat:math.*", And((word("graph"), Not(Prefix("cat", "math."))))),
    ],
)  # fmt: skip
def test_it_parses_category_terms_whole_and_case_folded(text: str, tree: object) -> None:
    """cat: takes one whole arXiv category, or a category prefix ending in '*'."""
    assert parse_query(text).root == tree


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ('cat:"cs LG"', "cat: takes a category such as cs.LG, not a phrase", 5),
        ("graph cat:cs.LG.x", "'cs.LG.x' is not an arXiv category", 11),
        ("cat:c$", "'c$' is not an arXiv category", 5),
        ("ti:cat:cs.LG", "field cat: inside another field", 4),
        ("-cat:math.*", "query has no positive term", None),
    ],
)
def test_it_says_where_a_category_term_is_wrong(
    text: str, message: str, column: int | None
) -> None:
    """A malformed cat: term is a query error at the category's column."""
    with pytest.raises(QueryError) as info:
        parse_query(text)
    assert info.value.message.startswith(message)
    assert info.value.column == column

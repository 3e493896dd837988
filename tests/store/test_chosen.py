"""The matches an outbox row stores: written once, read back exactly."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertbot.model import Hit, Match
from alertbot.store.chosen import (
    Bare,
    MatchEncoder,
    StoredMatchesError,
    decode,
    encode,
    is_bare,
)

_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=6)
_spans = st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 5000)), max_size=4).map(tuple)


@st.composite
def matches(draw: st.DrawFn) -> Match:
    interests = tuple(draw(st.lists(_text, min_size=1, max_size=3, unique=True)))
    # Hits name one of the match's interests, or (as no matcher does) another text.
    hits = draw(
        st.lists(
            st.builds(
                Hit,
                st.one_of(st.sampled_from(interests), _text),
                st.sampled_from(["title", "abstract", "authors"]),
                _text,
                _spans,
            ),
            max_size=3,
        )
    )
    score = draw(st.floats(min_value=0, max_value=1e6, allow_nan=False))
    return Match(draw(_text), score, interests, tuple(hits))


@given(st.lists(matches(), max_size=3))
def test_it_reads_back_exactly_what_it_wrote(found: list[Match]) -> None:
    """Papers, scores (bit for bit), interests, hits and spans survive the round trip."""
    assert decode(encode(found)) == tuple(found)


def test_one_encoder_writes_a_shared_hit_with_each_matchs_own_interest_index() -> None:
    """The same Hit object in two matches, its interest at another place in each."""
    hit = Hit("graph", "title", "graph", ((0, 5),))
    first = Match("a", 1.0, ("graph",), (hit,))
    second = Match("b", 2.0, ("diffusion", "graph"), (hit,))
    encoder = MatchEncoder()
    rows = [encoder.encode([first]), encoder.encode([second])]
    assert [decode(r) for r in rows] == [(first,), (second,)]


def test_a_row_without_stored_matches_reads_as_its_bare_papers() -> None:
    """A row queued before matches were stored: one match per paper, nothing to show."""
    assert decode(None, ["x", "y"]) == (Match("x", 0.0, ()), Match("y", 0.0, ()))


@given(
    st.lists(_text, max_size=3, unique=True),
    st.lists(st.tuples(_text, st.floats(allow_nan=False, allow_infinity=False)), max_size=4),
)
def test_it_reads_back_a_bare_digest_exactly(interests: list[str], ranked: list[Any]) -> None:
    """A bare digest (the profile's interests, the papers, their scores bit for bit) reads
    back as one match per paper naming every interest, with no hits, and says it is bare."""
    bare = Bare(tuple(interests), [p for p, _ in ranked], [x for _, x in ranked])
    text = bare.encode_matches()
    assert is_bare(text)
    assert decode(text) == tuple(Match(p, x, tuple(interests)) for p, x in ranked)


def test_the_explained_form_and_old_rows_are_not_bare() -> None:
    """Only the bare form is bare: explained rows and rows older than stored matches are
    sent as they are."""
    assert not is_bare(encode([Match("x", 1.0, ("a",))]))
    assert not is_bare(None)


@pytest.mark.parametrize(
    "text",
    ['{"interests": ["a"], "papers": ["x", "y"], "scores": [1.0]}', '{"papers": ["x"]}'],
    ids=["scores-short", "no-interests"],
)
def test_it_refuses_a_damaged_bare_digest(text: str) -> None:
    """A bare column that does not hold as many scores as papers, or lacks a part, is one
    clear error."""
    with pytest.raises(StoredMatchesError, match="stored matches do not read"):
        decode(text)


@pytest.mark.parametrize(
    "text",
    ["not json", "[[1, 2]]", '[["x", 1.0, ["a"], [[0, "body", "t", []]]]]', '[["x", 1.0, ["a"], '
     '[[0, "title", "t", [1]]]]]', '[["x", 1.0, ["a"], [[3, "title", "t", []]]]]'],
    ids=["not-json", "short-item", "unknown-field", "odd-spans", "no-such-interest"],
)  # fmt: skip
def test_it_refuses_what_it_did_not_write(text: str) -> None:
    """A damaged column is one clear error, never a half-read digest."""
    with pytest.raises(StoredMatchesError, match="stored matches do not read"):
        decode(text)

"""The matches an outbox row stores: written once, read back exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertbot.model import Hit, Match
from alertbot.store.chosen import MatchEncoder, StoredMatchesError, decode, encode

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

"""The reference evaluator's word lookups: fast paths that must equal the plain reading."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alertbot.match.evaluate import FieldText
from alertbot.match.query import Prefix

_words = st.lists(st.sampled_from(["gra", "graph", "graphs", "grape", "gr", "net", "ñet"]))


@given(_words, st.sampled_from(["g", "gr", "gra", "graph", "graphs", "n", "ñ", "x"]))
def test_a_prefix_is_found_at_every_word_that_starts_with_it(words: list[str], prefix: str) -> None:
    """Prefix positions from the sorted words equal a scan of every word, in text order."""
    text = FieldText(" ".join(words))
    expected = [(i, i) for i, w in enumerate(text.surfaces) if w.startswith(prefix)]
    assert text.find(Prefix("ta", prefix)) == expected


def test_spans_are_remembered_per_atom_and_equal_the_offsets_of_its_words() -> None:
    """A word's spans are its occurrences' character offsets; asking twice gives the same."""
    text = FieldText("Graph nets, graphs and graph")
    first = text.spans(Prefix("ta", "graph"))
    assert first == ((0, 5), (12, 18), (23, 28))
    assert text.spans(Prefix("ta", "graph")) is first
    assert text.spans(Prefix("ta", "tree")) == ()

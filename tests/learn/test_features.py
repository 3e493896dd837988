"""Features are the matcher's words and phrases: same stems, no phrase across a sentence."""

from __future__ import annotations

from alertbot.learn.features import ngrams, paper_terms
from tests.helpers.learning import paper


def keys(text: str) -> set[str]:
    return {key for key, _ in ngrams(text)}


def test_it_keys_features_by_the_matchers_stems() -> None:
    """Case, plurals and acronym plurals fold as the matcher folds them."""
    assert keys("Speculative Decoding of LLMs") == keys("speculative decoding of LLM")
    assert "specul decod" in keys("Speculative Decoding")


def test_it_never_makes_a_phrase_across_a_sentence() -> None:
    """A full stop between two words separates them; a hyphen does not."""
    found = keys("We use draft models. Decoding is fast; self-attention helps.")
    assert "model decod" not in found
    assert "decod fast" not in found
    assert "self attent" in found


def test_phrases_neither_start_nor_end_with_a_stop_word() -> None:
    """'mixture of experts' is a phrase, 'of experts' and 'the mixture' are not."""
    found = keys("the mixture of experts")
    assert "mixtur of expert" in found
    assert not any(k.startswith(("the ", "of ")) or k.endswith(" of") for k in found)


def test_it_counts_title_and_abstract_but_not_across_them() -> None:
    """The last word of the title and the first of the abstract make no phrase."""
    counts = paper_terms(paper(1, "Speculative decoding", "Decoding drafts tokens."))
    assert counts["decod"] == 2
    assert "decod decod" not in counts

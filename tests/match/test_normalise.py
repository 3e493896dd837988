"""Normalisation: the same rules for papers and queries, predictable for users."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertbot.match.normalise import analyse, offsets, tokenise, words


def stems(text: str) -> list[str]:
    return [t.stem for t in tokenise(text)]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("network", "networks"),
        ("transformers", "Transformer"),
        ("LLMs", "LLM"),
        ("CNNs", "cnn"),
        ("GANs", "GAN"),
        ("GPUs", "GPU"),
        ("self-attention", "self attention"),
        ("ＴＲＡＮＳＦＯＲＭＥＲ", "transformer"),
        ("Straße", "strasse"),
        ("ﬁne-tuning", "fine tuning"),
    ],
)
def test_it_makes_equivalent_spellings_equal(left: str, right: str) -> None:
    """Case, NFKC forms, hyphens, plurals and acronym plurals normalise alike."""
    assert stems(left) == stems(right)


@pytest.mark.parametrize(("left", "right"), [("GAN", "organ"), ("RNN", "CRNN"), ("LLM", "LLaMA")])
def test_it_keeps_different_words_apart(left: str, right: str) -> None:
    """Whole words only: an acronym never equals a longer word containing it."""
    assert stems(left) != stems(right)


def test_it_keeps_spans_into_the_original_text() -> None:
    """Every token's span points at the written word, even after NFKC and case-folding."""
    text = "Ｓelf-Attention for LLMs (ﬁne)"
    got = [(text[t.start : t.end], t.surface) for t in tokenise(text)]
    assert got == [
        ("Ｓelf", "self"),
        ("Attention", "attention"),
        ("for", "for"),
        ("LLMs", "llms"),
        ("ﬁne", "fine"),
    ]


def test_it_splits_on_punctuation_and_underscores() -> None:
    """Only letters and digits make words; everything else separates them."""
    assert [t.surface for t in tokenise("GPT-4o, (x_y) 3.5")] == ["gpt", "4o", "x", "y", "3", "5"]


@given(st.lists(st.sampled_from([*"ab É-ﬁ½ö\u0308 .Straße1", "LLMs"]), max_size=30).map("".join))
def test_it_gives_the_same_words_and_offsets_on_every_path(text: str) -> None:
    """analyse() and offsets() give exactly tokenise()'s words, stems and spans."""
    tokens = tokenise(text)
    assert analyse(text) == ([t.surface for t in tokens], [t.stem for t in tokens])
    assert offsets(text) == ([t.start for t in tokens], [t.end for t in tokens])


def test_it_folds_accents_as_ascii_folding_does() -> None:
    """Schrödinger, a decomposed o + U+0308, and the ASCII spelling are one word."""
    spellings = ["Schrödinger", "Schro\u0308dinger", "SCHRODINGER"]
    assert {tuple(words(s)) for s in spellings} == {("schrodinger",)}
    assert words("Łukasz Søren Đorđe") == ["lukasz", "soren", "dorde"]

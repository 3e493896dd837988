"""TeX shown as Unicode: accents, symbols and simple math; never raises, never loses text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertbot.tex import _converted, display, display_authors


@pytest.mark.parametrize(
    ("tex", "shown"),
    [
        ('Schr\\"odinger equations', "Schrödinger equations"),
        ('Schr\\"{o}dinger', "Schrödinger"),
        ("Cram\\'er--Rao bound", "Cramér–Rao bound"),
        ("R\\'emy", "Rémy"),
        ('Lindel\\"of', "Lindelöf"),
        ("\\L{}ukasz and S\\o{}ren", "Łukasz and Søren"),
        ("on $\\mathbb{T}^{d}$", "on 𝕋^d"),
        ("$\\alpha$-stable and $O(n \\log n)$", "α-stable and O(n log n)"),
        ("for $2<q<p\\leq 2^*$", "for 2<q<p≤ 2^*"),
        ("50% of the cases and 3\\% more", "50% of the cases and 3% more"),
        ("H&E stains", "H&E stains"),
        ("Plain text, no TeX: 50% & more", "Plain text, no TeX: 50% & more"),
    ],
)
def test_it_shows_tex_as_unicode(tex: str, shown: str) -> None:
    """Accents, symbols and simple math read as their Unicode characters."""
    assert display(tex) == shown


@pytest.mark.parametrize(
    ("broken", "words"),
    [
        ("$unclosed math", "unclosed math"),
        ("unbalanced {braces \\'e", "unbalanced braces é"),
        ("\\", ""),
        ("trailing \\", "trailing"),
        ("\\begin{itemize} never ended", "never ended"),
        ("}{ odd \\'e } braces {", "odd é braces"),
    ],
)
def test_it_never_raises_and_keeps_the_words_of_malformed_tex(broken: str, words: str) -> None:
    """Malformed TeX is shown, not refused: the words of the input survive."""
    assert words in display(broken)


@settings(max_examples=300)
@given(st.lists(st.sampled_from([*"ab \\$%&{}^_~\"'`cé", "\\'e", "$x$"])).map("".join))
def test_it_never_raises_on_any_text(text: str) -> None:
    """display() returns a string for anything, and text without TeX unchanged."""
    shown = display(text)
    assert isinstance(shown, str)
    if "\\" not in text and "$" not in text:
        assert shown == text


def test_it_displays_each_author_on_its_own() -> None:
    """Author names are converted one by one and joined with ', '."""
    assert display_authors(("R\\'emy Dupont", "Ann Smith")) == "Rémy Dupont, Ann Smith"


def test_a_converted_text_stays_converted_past_many_plain_ones() -> None:
    """Plain texts (no TeX) take no room in the cache of conversions, so a TeX abstract
    is converted once however many thousand papers pass between two readings."""
    tex = 'A cached Schr\\"odinger abstract, one of a kind'
    display(tex)
    before = _converted.cache_info()
    for n in range(20_000):
        display(f"plain abstract number {n}")
    assert display(tex) == "A cached Schrödinger abstract, one of a kind"
    after = _converted.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)


def test_clearing_the_cache_converts_again() -> None:
    """display.cache_clear() forgets the conversions: the next reading converts anew."""
    tex = "Cram\\'er, read twice"
    display(tex)
    display.cache_clear()
    assert _converted.cache_info().currsize == 0
    assert display(tex) == "Cramér, read twice"
    assert _converted.cache_info().misses == 1

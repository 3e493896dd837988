"""TeX in titles, abstracts and author names, shown as Unicode. Pure.

Listings carry TeX as their authors typed it: ``Schr\\"odinger``, ``Cram\\'er``,
``R\\'emy``, ``$\\mathbb{T}^{d}$``. The store keeps the source text as it came;
:func:`display` is what a reader sees (``Schrödinger``, ``Cramér``, ``Rémy``, ``𝕋^d``)
and what the matcher reads, so a highlight's spans (``model.Hit``) point into the
displayed text. pylatexenc does the conversion.

Never raises and never loses text: ``%`` (a TeX comment, which would swallow the rest
of the line) and ``&`` (an alignment tab) are escaped first, since in listings they mean
a percent and an ampersand; anything pylatexenc fails on is shown as it came.
"""

from __future__ import annotations

import functools
import re

from pylatexenc.latex2text import LatexNodes2Text

# Only text with one of these can hold TeX worth converting; the rest is returned as is.
_MARKERS = re.compile(r"[\\$]")
_BARE = re.compile(r"(?<!\\)([%&])")
_SPACES = re.compile(r"\s+")
_converter = LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


class _Display:
    """``display(text)``: ``text`` with TeX accents, symbols and simple math as Unicode.
    ``display.cache_clear()`` forgets every conversion (benchmarks time TeX as new), as
    when ``display`` was itself an ``lru_cache``."""

    def __call__(self, text: str) -> str:
        if not _MARKERS.search(text):
            return text
        return _converted(text)

    def cache_clear(self) -> None:
        _converted.cache_clear()


display = _Display()


# Only texts with TeX are cached: a tick of 10,000 papers holds ~20,000 distinct titles
# and abstracts, which cycled through a cache of them all and missed every time, so each
# paper's TeX was converted again per pass (pylatexenc, ~8 ms an abstract); about 1 in
# 15 has TeX, so these few thousand entries keep every one converted once.
@functools.lru_cache(maxsize=16384)
def _converted(text: str) -> str:
    try:
        converted = _converter.latex_to_text(_BARE.sub(r"\\\1", text))
    except Exception:  # malformed TeX of any kind: show it as it came
        return text
    converted = _SPACES.sub(" ", converted).strip()
    return converted if converted or not text.strip() else text


def display_authors(authors: tuple[str, ...]) -> str:
    """The author list as shown and matched: each name displayed, joined with ", "."""
    return ", ".join(display(a) for a in authors)

"""Text normalisation shared by papers and queries, so both sides always agree.

The rules, in order (documented for users in the README):

1. Words are runs of letters and digits; everything else (spaces, hyphens, punctuation)
   separates them, so ``self-attention`` is the two words ``self attention``.
2. Each word is Unicode NFKC-normalised and case-folded (``Ｔransformer`` = ``transformer``),
   then its accents are folded away as Lucene's ASCIIFoldingFilter does for Latin text
   (``Schrödinger`` = ``Schrodinger``, ``Łukasz`` = ``Lukasz``): combining diacritics
   (U+0300-U+036F) are dropped after canonical decomposition, and the few letters that
   do not decompose (``ø ł đ ı æ œ``) are spelled out. TeX accents (``Schr\"odinger``)
   are converted before, by :mod:`alertbot.tex`, on the text the matcher reads.
3. Acronym plurals lose their ``s`` when the letters before the last two are all
   consonants (``LLMs`` -> ``llm``, ``CNNs`` -> ``cnn``, ``GPUs`` -> ``gpu``); Snowball
   alone leaves these apart. The rule looks at letters, not case, so it is case-insensitive.
4. English Snowball stemming (PyStemmer): ``networks`` = ``network``, ``GANs`` = ``gan``.

Matching is on whole words: ``GAN`` never matches ``organ``; only a prefix wildcard
(``rnn*``) reaches longer words.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

import Stemmer

# Letters and digits, and the combining accents that may follow a letter in text that
# is not NFC (``o`` + U+0308): they belong to the word, not between two words.
_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
_PART = re.compile(r"[^\W_]+")
_MARKS = re.compile(r"[\u0300-\u036f]")
# Latin letters with no canonical decomposition, folded as ASCIIFoldingFilter folds them.
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ı": "i", "æ": "ae", "œ": "oe"})
_VOWELS = frozenset("aeiouy")
_stemmer = Stemmer.Stemmer("english")


class Token(NamedTuple):
    """One word of a text: its stem, its folded surface form and where it was."""

    stem: str
    surface: str
    start: int
    end: int


def fold(word: str) -> str:
    """NFKC, case-fold and accent-fold one word (the form prefix wildcards compare with)."""
    folded = unicodedata.normalize("NFKC", word).casefold()
    if folded.isascii():
        return folded
    bare = _MARKS.sub("", unicodedata.normalize("NFD", folded))
    return unicodedata.normalize("NFC", bare).translate(_LETTERS)


def _singular_acronym(folded: str) -> str:
    # "llms", "cnns", "gpus": no vowel before the last two letters means no English
    # plural Snowball would recognise, so the "s" is an acronym plural.
    if len(folded) >= 3 and folded.endswith("s") and not (_VOWELS & set(folded[:-2])):
        return folded[:-1]
    return folded


_stems: dict[str, str] = {}
_STEM_CACHE = 500_000


def stem(folded: str) -> str:
    """The matching key of one already folded word."""
    found = _stems.get(folded)
    if found is None:
        if len(_stems) >= _STEM_CACHE:
            _stems.clear()
        found = _stems[folded] = str(_stemmer.stemWord(_singular_acronym(folded)))
    return found


def analyse(text: str) -> tuple[list[str], list[str]]:
    """The folded words and stems of ``text``: ``tokenise`` without the spans, faster."""
    if text.isascii():
        surfaces = _PART.findall(text.lower())
        stems = _stems
        return surfaces, [stems.get(w) or stem(w) for w in surfaces]
    tokens = tokenise(text)
    return [t.surface for t in tokens], [t.stem for t in tokens]


def offsets(text: str) -> tuple[list[int], list[int]]:
    """The ``(start, end)`` of each of ``analyse(text)``'s words, as two lists of ints
    (no object per token: highlights need only these)."""
    if text.isascii():  # lower() keeps every offset and every length
        starts = [m.start() for m in _PART.finditer(text.lower())]
        return starts, [m.end() for m in _PART.finditer(text.lower())]
    tokens = tokenise(text)
    return [t.start for t in tokens], [t.end for t in tokens]


def tokenise(text: str) -> list[Token]:
    """Split ``text`` into normalised tokens whose spans point into ``text`` itself."""
    stems = _stems
    if text.isascii():  # the common case: lower() keeps every offset
        return [
            Token(stems.get(w) or stem(w), w, m.start(), m.end())
            for m in _PART.finditer(text.lower())
            if (w := m.group())
        ]
    tokens: list[Token] = []
    for m in _WORD.finditer(text):
        raw = m.group()
        if raw.isascii():
            folded = raw.lower()
            key = stems.get(folded) or stem(folded)
            tokens.append(Token(key, folded, *m.span()))
            continue
        folded = fold(raw)
        if _PART.fullmatch(folded):
            tokens.append(Token(stem(folded), folded, *m.span()))
            continue
        # NFKC can split one written word ("½" -> "1⁄2"); the parts share its span.
        for part in _PART.findall(folded):
            tokens.append(Token(stem(part), part, m.start(), m.end()))
    return tokens


def words(text: str) -> list[str]:
    """The folded (unstemmed) words of ``text``, as a query is split."""
    return [t.surface for t in tokenise(text)]

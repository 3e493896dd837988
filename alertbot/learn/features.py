"""The features a reader's model sees: words and 2-3 word phrases of title + abstract.

Words are the matcher's own (:func:`alertbot.match.normalise.tokenise`: NFKC, case-fold,
acronym plurals, Snowball stems), so a feature is exactly what a query term matches and
a suggestion written from it (:mod:`alertbot.learn.suggest`) finds the same papers.
A feature's key is its stems joined by spaces (``"specul decod"``); its display form
is the commonest way the papers wrote it (``"speculative decoding"``).

Phrases never cross a sentence (a ``.``, ``;``, ``:``, ``?`` or ``!`` between two words)
or the title/abstract boundary, and never start or end with a stop word: "of the" is
not a topic. Inside a phrase only "of" may stand ("mixture of experts", "chain of
thought"); "benchmarks with open" is no topic either.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from alertbot.match.normalise import Token, tokenise
from alertbot.model import Paper

MAX_NGRAM = 3
_SENTENCE_BREAK = re.compile(r"[.;:?!]")

# English function words and the boilerplate of abstracts. A list rather than
# scikit-learn's ENGLISH_STOP_WORDS: the core does not import scikit-learn (see
# alertbot/learn/model.py for why), and abstracts need a few of their own ("propos",
# "result", "paper"). Compared as folded surface forms, before stemming.
_STOP_TEXT = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves however thus therefore via within without
    across among upon whether either neither yet still even much many several various
    may might must shall one two three new based using use used uses show shows shown
    propose proposed proposes paper work approach method methods result results present
    presents introduce introduces demonstrate demonstrates achieve achieves existing
    well first furthermore moreover recent recently novel significant significantly
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
INNER_WORDS = frozenset({"of"})


def _is_content(token: Token) -> bool:
    surface = token.surface
    return len(surface) >= 2 and surface not in STOP_WORDS and not surface.isdigit()


def _runs(text: str) -> Iterator[list[Token]]:
    """The tokens of ``text`` in runs that no sentence break interrupts."""
    run: list[Token] = []
    end = 0
    for token in tokenise(text):
        if run and _SENTENCE_BREAK.search(text, end, token.start):
            yield run
            run = []
        run.append(token)
        end = token.end
    if run:
        yield run


def ngrams(text: str) -> Iterator[tuple[str, str]]:
    """``(key, display)`` of every word and phrase feature of ``text``, in order."""
    for run in _runs(text):
        for i, first in enumerate(run):
            if not _is_content(first):
                continue
            for n in range(1, MAX_NGRAM + 1):
                if i + n > len(run):
                    break
                last = run[i + n - 1]
                if not _is_content(last):
                    if last.surface not in INNER_WORDS:
                        break
                    continue
                words = run[i : i + n]
                yield " ".join(t.stem for t in words), " ".join(t.surface for t in words)


def paper_terms(paper: Paper, forms: dict[str, Counter[str]] | None = None) -> Counter[str]:
    """Feature key -> count in the paper's title and abstract (never across the two).

    ``forms``, when given, counts each key's surface forms too (key -> form -> count).
    """
    counts: Counter[str] = Counter()
    for text in (paper.title, paper.abstract):
        for key, display in ngrams(text):
            counts[key] += 1
            if forms is not None:
                forms.setdefault(key, Counter())[display] += 1
    return counts

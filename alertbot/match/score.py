"""Relevance in the spirit of BM25, with every constant in one place.

For each positive word, phrase or wildcard that matched, in each field it matched::

    FIELD_BOOST[field] * idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len / avg_len)) * weight

``idf = ln(1 + (N - df + 0.5) / (df + 0.5))`` over the rolling corpus (``CorpusStats``),
so rare terms count more; a phrase's idf is the sum of its words' idfs times
``PHRASE_BOOST``; a wildcard takes the lowest idf among the words it reached. Weights
(``^2``) multiply everything beneath them. A profile's score is the sum over the
interests that matched; negated terms never score.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from alertbot.match.normalise import analyse
from alertbot.model import Paper
from alertbot.tex import display, display_authors

K1 = 1.2
B = 0.75
FIELD_BOOST: Mapping[str, float] = {"ti": 2.0, "abs": 1.0, "au": 1.5}
PHRASE_BOOST = 1.5
# Average field lengths (in words) to assume before any corpus is known.
DEFAULT_AVG_LEN: Mapping[str, float] = {"ti": 10.0, "abs": 170.0, "au": 8.0}


@dataclass(frozen=True)
class CorpusStats:
    """Document frequencies of stems (title + abstract) and average field lengths."""

    n_docs: int
    df: Mapping[str, int] = field(default_factory=dict)
    avg_len: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_AVG_LEN))

    @classmethod
    def empty(cls) -> CorpusStats:
        """Statistics of no papers: every term is equally rare."""
        return cls(0)

    @classmethod
    def from_papers(cls, papers: Iterable[Paper]) -> CorpusStats:
        """Count, once per paper, every stem of its title and abstract."""
        df: Counter[str] = Counter()
        totals: Counter[str] = Counter()
        n = 0
        for paper in papers:
            n += 1
            # The text the matcher reads: TeX shown as Unicode, as in evaluate.Doc.
            _, title = analyse(display(paper.title))
            _, abstract = analyse(display(paper.abstract))
            totals["ti"] += len(title)
            totals["abs"] += len(abstract)
            totals["au"] += len(analyse(display_authors(paper.authors))[1])
            df.update(set(title) | set(abstract))
        if not n:
            return cls.empty()
        avg = {f: max(totals[f] / n, 1.0) for f in DEFAULT_AVG_LEN}
        return cls(n, dict(df), avg)

    def idf(self, stem: str) -> float:
        """Inverse document frequency; never negative, even for a stem seen everywhere."""
        df = self.df.get(stem, 0)
        return math.log(1.0 + (max(self.n_docs - df, 0) + 0.5) / (df + 0.5))


def term_score(stats: CorpusStats, fld: str, idf: float, tf: int, length: int) -> float:
    """One term's contribution in one field (before query weights)."""
    avg = stats.avg_len.get(fld, DEFAULT_AVG_LEN[fld])
    norm = 1.0 - B + B * length / avg
    return FIELD_BOOST[fld] * idf * tf * (K1 + 1.0) / (tf + K1 * norm)

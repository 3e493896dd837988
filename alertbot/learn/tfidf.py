"""tf-idf of title + abstract over the recent corpus, with numpy.

The weighting is scikit-learn's ``TfidfVectorizer(sublinear_tf=True, smooth_idf=True,
norm="l2")``: ``tf = 1 + ln(count)``, ``idf = ln((1 + n) / (1 + df)) + 1``, each vector
scaled to unit length, so the dot product of two vectors is their cosine similarity.

Why not ``TfidfVectorizer`` itself: it would need our tokeniser as its ``analyzer``
anyway (the features must be the matcher's stems, :mod:`alertbot.learn.features`), so
all it would add is the sparse-matrix bookkeeping below, and it brings scikit-learn
and SciPy into the runtime (measured on this machine: +164 MB installed, import 1.0-1.3 s
against numpy's 0.1 s, for every ``alertbot`` command). ``alertbot bench learn``
runs scikit-learn beside this when it is installed (the ``bench`` extra) and compares.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alertbot.learn.features import paper_terms
from alertbot.model import Paper

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_DF = 2  # a feature seen in one paper only cannot generalise
MAX_DF = 0.5  # nor one in most of them


@dataclass(frozen=True, slots=True, eq=False)
class Vector:
    """A sparse unit vector: sorted feature columns and their weights."""

    indices: IntArray
    values: FloatArray

    def dot(self, other: Vector) -> float:
        _, mine, theirs = np.intersect1d(
            self.indices, other.indices, assume_unique=True, return_indices=True
        )
        return float(self.values[mine] @ other.values[theirs])

    def has(self, column: int) -> bool:
        at = int(np.searchsorted(self.indices, column))
        return at < len(self.indices) and int(self.indices[at]) == column


EMPTY = Vector(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


@dataclass(frozen=True, slots=True, eq=False)
class Vocabulary:
    """The features of a corpus: column per key, its display form and its idf."""

    columns: Mapping[str, int]
    keys: tuple[str, ...]
    display: tuple[str, ...]
    idf: FloatArray
    df: IntArray
    n_docs: int

    @classmethod
    def fit(
        cls, papers: Iterable[Paper], *, min_df: int = MIN_DF, max_df: float = MAX_DF
    ) -> Vocabulary:
        return fit_transform(papers, min_df=min_df, max_df=max_df)[0]

    def vector(self, paper: Paper) -> Vector:
        """The paper's tf-idf vector; features outside the vocabulary are dropped."""
        return self._vector(paper_terms(paper))

    def vectors(self, papers: Iterable[Paper]) -> dict[str, Vector]:
        return {paper.id: self.vector(paper) for paper in papers}

    def _vector(self, counts: Mapping[str, int]) -> Vector:
        pairs = sorted(
            (col, (1.0 + math.log(n)) * float(self.idf[col]))
            for key, n in counts.items()
            if (col := self.columns.get(key)) is not None
        )
        if not pairs:
            return EMPTY
        indices = np.fromiter((c for c, _ in pairs), dtype=np.int64, count=len(pairs))
        values = np.fromiter((v for _, v in pairs), dtype=np.float64, count=len(pairs))
        return Vector(indices, values / float(np.linalg.norm(values)))

    def column(self, key: str) -> int | None:
        return self.columns.get(key)


def fit_transform(
    papers: Iterable[Paper], *, min_df: int = MIN_DF, max_df: float = MAX_DF
) -> tuple[Vocabulary, dict[str, Vector]]:
    """The vocabulary of ``papers`` and each paper's vector, tokenising each paper once."""
    counted: list[tuple[str, Counter[str]]] = []
    forms: dict[str, Counter[str]] = {}
    df: Counter[str] = Counter()
    for paper in papers:
        counts = paper_terms(paper, forms)
        counted.append((paper.id, counts))
        df.update(counts.keys())
    n = len(counted)
    limit = max_df * n
    keys = tuple(sorted(k for k, d in df.items() if d >= min_df and d <= limit))
    idf = np.fromiter(
        (math.log((1 + n) / (1 + df[k])) + 1.0 for k in keys), dtype=np.float64, count=len(keys)
    )
    display = tuple(min(forms[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] for k in keys)
    frequencies = np.fromiter((df[k] for k in keys), dtype=np.int64, count=len(keys))
    vocabulary = Vocabulary({k: i for i, k in enumerate(keys)}, keys, display, idf, frequencies, n)
    return vocabulary, {pid: vocabulary._vector(counts) for pid, counts in counted}

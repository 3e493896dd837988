"""``like:`` interests, the pure part: papers similar to one paper, and the shared terms.

The query language reads the interest (:mod:`alertbot.match.like`), the dispatcher's
like pass (:class:`alertbot.readers.LikePass`) calls this: an interest
``like:2405.12345`` (or ``like:"a paper title"``) matches the candidates whose
tf-idf cosine similarity to that paper is at least ``threshold``, and explains itself
by the terms the two papers share, strongest first (the products of their weights).
Vectors are unit length, so the cosine is a dot product.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from alertbot.learn.tfidf import Vector, Vocabulary

# Measured on the bundled samples (alertbot bench learn prints the distribution): two
# unrelated abstracts mostly score under 0.1, papers on one narrow topic 0.2-0.5.
THRESHOLD = 0.2
MAX_SHARED = 3


@dataclass(frozen=True, slots=True)
class LikeMatch:
    paper_id: str
    similarity: float
    shared: tuple[str, ...]  # display forms, strongest first


def similarity(a: Vector, b: Vector) -> float:
    """Cosine similarity of two tf-idf vectors (0: nothing shared, 1: the same text)."""
    return a.dot(b)


def shared_terms(
    a: Vector, b: Vector, vocabulary: Vocabulary, limit: int = MAX_SHARED
) -> tuple[str, ...]:
    """The features both papers have, by the product of their weights, strongest first."""
    common, mine, theirs = np.intersect1d(
        a.indices, b.indices, assume_unique=True, return_indices=True
    )
    weight = a.values[mine] * b.values[theirs]
    order = sorted(range(len(common)), key=lambda i: (-float(weight[i]), int(common[i])))
    return tuple(vocabulary.display[int(common[i])] for i in order[:limit])


def like_matches(
    target: Vector,
    candidates: Mapping[str, Vector],
    vocabulary: Vocabulary,
    *,
    threshold: float = THRESHOLD,
    exclude: str | None = None,
) -> list[LikeMatch]:
    """Candidates at least ``threshold`` similar to ``target``, most similar first (then id).

    ``exclude`` is the target's own id: a paper is not "like" itself.
    """
    found = [
        LikeMatch(pid, score, shared_terms(target, vector, vocabulary))
        for pid, vector in candidates.items()
        if pid != exclude and (score := similarity(target, vector)) >= threshold
    ]
    return sorted(found, key=lambda m: (-m.similarity, m.paper_id))

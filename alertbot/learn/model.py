"""A reader's linear model: L2-regularised logistic regression on their judged papers.

As arxiv-sanity does (a linear SVM per tag on tf-idf), a linear model over the
tf-idf features, trained on the reader's useful (+1) and not useful (-1) papers, with
the classes weighted to count equally ("balanced": three verdicts of one kind do not
drown one of the other). Logistic regression rather than an SVM because its scores
are probabilities, which combine with the keyword score on a known scale.

It minimises ``sum_i c_i log(1 + exp(-y_i (w.x_i + b))) + l2/2 (|w|^2 + b^2)`` (the
bias as a constant feature, regularised like liblinear's), exactly, by Newton's method
in the span of the examples: the optimum is ``w = X^T a`` for some ``a`` in R^n
(the representer theorem), so each step solves an n x n system, n being the number
of judged papers (tens to hundreds), never a system in the vocabulary's size. Fixed
input gives fixed output: no random start, no shuffling, no threads.

Why not scikit-learn's ``LogisticRegression``: the same objective, but scikit-learn
and SciPy in the runtime for this one fit (see :mod:`alertbot.learn.tfidf` for the
measured cost); ``alertbot bench learn`` fits both on the same features and reports the
agreement when scikit-learn is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from alertbot.learn.tfidf import FloatArray, IntArray, Vector

L2 = 1.0  # scikit-learn's default C = 1 / L2
MAX_NEWTON_STEPS = 50
TOLERANCE = 1e-10
BIAS_FEATURE = 1.0


@dataclass(frozen=True, slots=True, eq=False)
class ReaderModel:
    """Weights over feature columns (only those of judged papers), and a bias."""

    columns: IntArray
    weights: FloatArray
    bias: float

    def decision(self, vector: Vector) -> float:
        """``w.x + b``: above 0, the model thinks the reader finds the paper useful."""
        _, mine, theirs = np.intersect1d(
            self.columns, vector.indices, assume_unique=True, return_indices=True
        )
        return float(self.weights[mine] @ vector.values[theirs]) + self.bias

    def probability(self, vector: Vector) -> float:
        return float(1.0 / (1.0 + np.exp(-self.decision(vector))))

    def contributions(self, vector: Vector) -> list[tuple[int, float]]:
        """``(column, w_f * x_f)`` of every feature of the paper the model has a weight for."""
        _, mine, theirs = np.intersect1d(
            self.columns, vector.indices, assume_unique=True, return_indices=True
        )
        values = self.weights[mine] * vector.values[theirs]
        return [(int(c), float(v)) for c, v in zip(self.columns[mine], values, strict=True)]


def _loss(margins: FloatArray, weights: FloatArray) -> float:
    return float(weights @ np.logaddexp(0.0, -margins))


def train(examples: Sequence[tuple[Vector, bool]], *, l2: float = L2) -> ReaderModel | None:
    """The model of ``(paper vector, useful?)`` examples; None without both kinds."""
    n_useful = sum(1 for _, useful in examples if useful)
    n_not = len(examples) - n_useful
    if n_useful == 0 or n_not == 0:
        return None
    vectors = [v for v, _ in examples]
    kernel, columns = _kernel(vectors)
    y = np.array([1.0 if useful else -1.0 for _, useful in examples])
    n = len(examples)
    c = np.where(y > 0, n / (2.0 * n_useful), n / (2.0 * n_not))  # balanced classes
    a = np.zeros(n)

    def objective(coef: FloatArray) -> float:
        f = kernel @ coef
        return _loss(y * f, c) + 0.5 * l2 * float(coef @ f)

    current = objective(a)
    for _ in range(MAX_NEWTON_STEPS):
        f = kernel @ a
        p = 1.0 / (1.0 + np.exp(-f))
        s = 1.0 / (1.0 + np.exp(y * f))  # sigma(-y f)
        residual = l2 * a - c * y * s  # the gradient is kernel @ residual
        curvature = c * p * (1.0 - p)
        step = np.linalg.solve(curvature[:, None] * kernel + l2 * np.eye(n), residual)
        # Newton's step, halved until the objective does not rise (it rarely needs to).
        size = 1.0
        while size > 1e-6:
            trial = a - size * step
            value = objective(trial)
            if value <= current:
                break
            size /= 2
        else:
            break
        decrease = current - value
        a, current = trial, value
        if decrease <= TOLERANCE * max(1.0, abs(current)):
            break
    # w = X^T a, accumulated row by row (X is sparse; never built dense).
    weights = np.zeros(len(columns))
    for coef, vector in zip(a, vectors, strict=True):
        weights[np.searchsorted(columns, vector.indices)] += coef * vector.values
    return ReaderModel(columns=columns, weights=weights, bias=float(a.sum()) * BIAS_FEATURE**2)


def _kernel(vectors: Sequence[Vector]) -> tuple[FloatArray, IntArray]:
    """``X X^T`` (with the bias feature) of the examples, and the columns they use.

    Most features occur in one judged paper only: they add to that paper's diagonal
    entry alone, so only the shared columns go into the (then narrow) dense product.
    """
    every = np.concatenate([v.indices for v in vectors])
    columns, counts = np.unique(every, return_counts=True)
    shared = columns[counts > 1]
    matrix = np.zeros((len(vectors), len(shared)))
    solo = np.zeros(len(vectors))
    for row, vector in enumerate(vectors):
        at = np.searchsorted(shared, vector.indices)
        inside = np.isin(vector.indices, shared, assume_unique=True)
        matrix[row, at[inside]] = vector.values[inside]
        solo[row] = float(vector.values[~inside] @ vector.values[~inside])
    kernel = matrix @ matrix.T + np.diag(solo) + BIAS_FEATURE**2
    return kernel, columns

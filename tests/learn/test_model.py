"""The reader's model: the exact L2 logistic regression optimum, deterministic."""

from __future__ import annotations

import numpy as np

from alertbot.learn import Vector, fit_transform, train
from alertbot.learn.model import BIAS_FEATURE
from tests.helpers.learning import corpus, liked_decoding


def examples() -> list[tuple[Vector, bool]]:
    papers = corpus()
    _, vectors = fit_transform(papers, min_df=1, max_df=1.0)
    return [(vectors[pid], v == "useful") for pid, v in sorted(liked_decoding(papers).items())]


def test_it_reaches_the_optimum_of_the_regularised_objective() -> None:
    """At the returned weights the gradient of the balanced, L2-regularised logistic loss
    (computed here in the primal, independently of the solver) is zero."""
    pairs = examples()
    model = train(pairs, l2=0.5)
    assert model is not None
    columns = np.unique(np.concatenate([v.indices for v, _ in pairs]))
    assert np.array_equal(columns, model.columns)
    matrix = np.zeros((len(pairs), len(columns)))
    for row, (v, _) in enumerate(pairs):
        matrix[row, np.searchsorted(columns, v.indices)] = v.values
    x = np.hstack([matrix, np.full((len(pairs), 1), BIAS_FEATURE)])
    y = np.array([1.0 if useful else -1.0 for _, useful in pairs])
    n_pos = int((y > 0).sum())
    c = np.where(y > 0, len(y) / (2 * n_pos), len(y) / (2 * (len(y) - n_pos)))
    w = np.append(model.weights, model.bias / BIAS_FEATURE)
    margins = y * (x @ w)
    gradient = -x.T @ (c * y / (1 + np.exp(margins))) + 0.5 * w
    assert np.abs(gradient).max() < 1e-6


def test_it_is_deterministic_for_fixed_feedback() -> None:
    """Two fits of the same verdicts give bit-identical weights."""
    first, second = train(examples()), train(examples())
    assert first is not None
    assert second is not None
    assert np.array_equal(first.weights, second.weights)
    assert first.bias == second.bias


def test_it_needs_both_kinds_of_verdict() -> None:
    """Only useful (or only not useful) papers give no model."""
    pairs = [p for p in examples() if p[1]]
    assert train(pairs) is None


def test_it_scores_papers_like_the_useful_ones_higher() -> None:
    """An unseen decoding paper scores above an unseen survey."""
    papers = corpus()
    _, vectors = fit_transform(papers, min_df=1, max_df=1.0)
    model = train(
        [(vectors[pid], v == "useful") for pid, v in sorted(liked_decoding(papers).items())]
    )
    assert model is not None
    unseen_decoding, unseen_survey = papers[5], papers[11]
    assert model.probability(vectors[unseen_decoding.id]) > 0.5
    assert model.probability(vectors[unseen_survey.id]) < 0.5

"""tf-idf as scikit-learn weighs it (sublinear tf, smooth idf, unit length), on our stems."""

from __future__ import annotations

import math

import numpy as np

from alertbot.learn import fit_transform
from tests.helpers.learning import paper


def test_it_weighs_as_sublinear_tf_times_smooth_idf_then_normalises() -> None:
    """Three papers, hand-computed: (1 + ln tf) * (ln((1 + n) / (1 + df)) + 1), unit length."""
    papers = [
        paper(1, "Graph graph graph", "Kernel."),
        paper(2, "Graph", "Kernel regression."),
        paper(3, "Kernel", "Trees."),
    ]
    vocabulary, vectors = fit_transform(papers, min_df=1, max_df=1.0)
    assert set(vocabulary.keys) >= {"graph", "kernel", "tree", "regress", "graph graph"}
    v = vectors[papers[0].id]
    weights = dict(zip((vocabulary.keys[i] for i in v.indices), v.values, strict=True))
    idf = {
        "graph": math.log(4 / 3) + 1,
        "kernel": math.log(4 / 4) + 1,
        "graph graph": math.log(4 / 2) + 1,
    }
    raw = {
        "graph": (1 + math.log(3)) * idf["graph"],
        "kernel": 1.0 * idf["kernel"],
        "graph graph": (1 + math.log(2)) * idf["graph graph"],
        "graph graph graph": 1.0 * (math.log(4 / 2) + 1),
    }
    norm = math.sqrt(sum(x * x for x in raw.values()))
    assert weights.keys() == raw.keys()
    for key, value in raw.items():
        assert abs(weights[key] - value / norm) < 1e-12


def test_min_and_max_document_frequency_prune_the_vocabulary() -> None:
    """A term in one paper only, or in more than max_df of them, is no feature."""
    papers = [
        paper(i, f"Graph kernels {w}", "Trees.") for i, w in enumerate(("alpha", "beta", "beta"), 1)
    ]
    vocabulary, _ = fit_transform(papers, min_df=2, max_df=0.9)
    assert "beta" in vocabulary.keys
    assert "alpha" not in vocabulary.keys  # one paper
    assert "graph" not in vocabulary.keys  # every paper


def test_every_vector_has_unit_length() -> None:
    """So the dot product of two vectors is their cosine similarity."""
    papers = [paper(i, f"Graph kernels {i}", "Trees and graphs.") for i in range(1, 5)]
    _, vectors = fit_transform(papers, min_df=1, max_df=1.0)
    for v in vectors.values():
        assert abs(float(np.linalg.norm(v.values)) - 1.0) < 1e-12

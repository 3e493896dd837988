"""The workload of ``alertbot bench learn``: simulated readers, each with a hidden true
interest and a weaker visible profile; the real papers their days are made of; and the
measures of a digest against the hidden interest (precision@k, nDCG@k).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alertbot.model import Paper
from alertbot.parse import parse_bytes
from alertbot.parse.merge import merge_listings
from alertbot.samples import sample_dump_paths

REAL_CAPTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "real"


@dataclass(frozen=True, slots=True)
class SimReader:
    """A simulated reader: what they truly want, and the profile they start with."""

    name: str
    hidden: tuple[str, ...]
    visible: tuple[str, ...]


# Visible profiles are broad on purpose: a reader's first query is rarely their exact
# interest. Each hidden interest also holds a part the visible profile cannot match.
READERS: tuple[SimReader, ...] = (
    SimReader(
        "llm-reasoning",
        ('"language model" (reasoning OR math* OR theorem)', '"chain of thought"'),
        ('"language model"',),
    ),
    SimReader(
        "nn-compression",
        (
            '"neural network" (pruning OR quantiz* OR compression OR sparse)',
            '"knowledge distillation"',
        ),
        ('"neural network"',),
    ),
    SimReader(
        "efficient-transformers",
        ("transformer (efficient OR attention OR memory)", '"state space"', '"long context"'),
        ("transformer",),
    ),
    SimReader(
        "optimisation-theory",
        ('optimization (convergence OR "gradient descent" OR convex)', '"learning rate"'),
        ("optimization",),
    ),
    SimReader(
        "vision-generation",
        ("image (generative OR generation OR diffusion OR synthesis)", "gan"),
        ("image",),
    ),
    SimReader(
        "robust-ml",
        ("adversarial OR attack* OR privacy OR backdoor", "robust* (noise OR perturbation)"),
        ("robust*",),
    ),
    SimReader(
        "speech-and-translation",
        ("speech OR translation OR asr", '"machine translation"'),
        ("language",),
    ),
    SimReader(
        "graph-learning",
        ('graph ("neural network" OR node* OR embedding*)', "gnn*"),
        ("graph",),
    ),
)


def load_papers() -> tuple[list[Paper], list[str]]:
    """The real papers of the workload (merged once) and the files they came from."""
    paths = list(sample_dump_paths())
    if REAL_CAPTURES.is_dir():
        paths += sorted(p for p in REAL_CAPTURES.iterdir() if p.suffix in (".xml", ".json"))
    fetched = datetime(2026, 11, 23, tzinfo=UTC)
    papers: list[Paper] = []
    for path in paths:
        papers += parse_bytes(path.read_bytes(), name=path.name, fetched_at=fetched).papers
    return merge_listings(papers), [p.name for p in paths]


def precision_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    return sum(1 for pid in ranked[:k] if pid in relevant) / k


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """nDCG@k with binary gains; the ideal puts every relevant paper first (1.0 if none)."""
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    if ideal == 0:
        return 1.0
    gained = sum(1.0 / math.log2(i + 2) for i, pid in enumerate(ranked[:k]) if pid in relevant)
    return gained / ideal

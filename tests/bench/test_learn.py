"""The learning benchmark's own rules: its metrics, and a simulation that is fair and
repeatable (the figures in the README come from it)."""

from __future__ import annotations

import math

from alertbot.bench.learn import ARMS, run_bench
from alertbot.bench.simulated import READERS, load_papers, ndcg_at, precision_at


def test_precision_counts_relevant_papers_in_the_first_k() -> None:
    """Two relevant of the first four, k = 4: 0.5; fewer papers than k count as misses."""
    assert precision_at(["a", "b", "c", "d", "e"], {"a", "c", "e"}, 4) == 0.5
    assert precision_at(["a"], {"a"}, 4) == 0.25


def test_ndcg_is_one_for_the_ideal_order_and_penalises_missed_papers() -> None:
    """Relevant first is 1; a relevant paper the digest misses lowers it; none relevant is 1."""
    assert ndcg_at(["a", "b", "x"], {"a", "b"}, 3) == 1.0
    ideal = 1 + 1 / math.log2(3)
    assert abs(ndcg_at(["x", "a"], {"a", "b"}, 3) - (1 / math.log2(3)) / ideal) < 1e-12
    assert ndcg_at(["x"], set(), 3) == 1.0


def test_the_workload_is_the_real_papers_merged_once() -> None:
    """Samples and real captures, each paper once."""
    papers, sources = load_papers()
    assert len(papers) == len({p.id for p in papers}) > 300
    assert any(name.endswith(".txt") for name in sources)


def test_every_arm_sees_the_same_first_day_and_the_run_repeats() -> None:
    """Before any feedback the three arms show the same digests; the same seed gives the
    same figures."""
    first = run_bench(days=2, cap=5, readers=READERS[:1], against_sklearn=False)
    again = run_bench(days=2, cap=5, readers=READERS[:1], against_sklearn=False)
    for name in first.readers:
        day_one = {first.states[(name, arm)].ndcg[0] for arm in ARMS}
        assert len(day_one) == 1
        for arm in ARMS:
            assert first.states[(name, arm)].precision == again.states[(name, arm)].precision
            assert first.states[(name, arm)].ndcg == again.states[(name, arm)].ndcg

"""``alertbot bench learn``: does learning from feedback give better digests, and what does it cost?

The workload (``simulated.py``): real paper text (the bundled sample dumps and, in a
checkout, the real feed captures of ``tests/fixtures/real/``), merged once and shuffled
into simulated days. Each simulated reader has a hidden "true interest" (held-back
queries: what they would call relevant) and a visible starting profile that is a weaker
version of it (a broader query, so the digest holds noise, and missing parts of it, so
some relevant papers never match). Every day each arm builds the reader's digest from
the day's papers (keyword matching decides what is in it, capped at ``cap``), and the
reader judges the papers shown: each with probability ``judge_rate``, by the hidden
interest, the verdict flipped with probability ``noise``.

Three arms per reader, each with its own feedback history:

- ``keyword``: today's alertbot, keyword score order;
- ``learned``: the same matches in learned order (:func:`alertbot.learn.rerank`) once the
  reader has enough feedback;
- ``learned+suggest``: as ``learned``, and each day the reader sees the suggestions and
  accepts the first that fits their hidden interest (on the papers seen so far, the
  changed profile agrees better with it: a higher F1), which then is an ordinary part of
  the profile. Accepted suggestions help on the past by construction; the figures of
  the days after say whether they generalise.

Quality is measured against the hidden interest: precision@k of the digest, and nDCG@k
whose ideal ranking is every relevant paper of the day (so a relevant paper the profile
misses counts against it). Training time is per reader per day, the vocabulary's fit is
per day (once per tick for everyone).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from alertbot.bench.simulated import READERS, SimReader, load_papers, ndcg_at, precision_at
from alertbot.learn import (
    LearnParams,
    Suggestion,
    Vector,
    Vocabulary,
    accept,
    fit_transform,
    reader_for,
    rerank,
    suggest,
)
from alertbot.match import CorpusStats, match_profile
from alertbot.model import FeedbackValue, Match, Paper, Profile
from alertbot.readers import one_blas_thread
from alertbot.render.parts import reason_text

ARMS = ("keyword", "learned", "learned+suggest")


@dataclass
class ArmState:
    """One reader in one arm: the profile as it stands, and the feedback given so far."""

    profile: Profile
    rng: random.Random
    feedback: dict[str, FeedbackValue] = field(default_factory=dict)
    declined: set[str] = field(default_factory=set)
    precision: list[float] = field(default_factory=list)
    ndcg: list[float] = field(default_factory=list)


EFFECTS = ("helped", "hurt", "no change", "too late to tell")


@dataclass
class Accepted:
    """A suggestion a reader accepted on ``day`` (1-based), and whether it helped: on the
    papers of the later days (never seen when it was accepted), the profile with it
    agrees better (F1) with the hidden interest than the profile without it."""

    reader: str
    day: int
    suggestion: Suggestion
    before: Profile
    effect: str = "too late to tell"  # helped | hurt | no change | too late to tell


@dataclass
class BenchResult:
    """Per (reader, arm) daily figures in ``states``; costs and suggestions beside them."""

    days: int
    cap: int
    papers: int
    sources: list[str]
    readers: list[str]
    states: dict[tuple[str, str], ArmState]
    learning: list[int] = field(default_factory=list)  # readers with a model, per day
    offered: int = 0
    accepted: list[Accepted] = field(default_factory=list)
    train_seconds: list[float] = field(default_factory=list)
    vocabulary_seconds: list[float] = field(default_factory=list)
    vocabulary_sizes: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    sklearn: str = "not installed (pip install -e '.[bench]' to compare)"

    def mean(self, arm: str, metric: str, day: int) -> float:
        return statistics.fmean(
            getattr(self.states[(name, arm)], metric)[day] for name in self.readers
        )


@dataclass(frozen=True, slots=True)
class _Day:
    """What every reader's digest is built from on one simulated day."""

    papers: Sequence[Paper]
    seen: Sequence[Paper]
    stats: CorpusStats
    vocabulary: Vocabulary
    vectors: Mapping[str, Vector]
    by_id: Mapping[str, Paper]


def run_bench(
    *,
    days: int = 6,
    cap: int = 10,
    readers: Sequence[SimReader] = READERS,
    params: LearnParams | None = None,
    judge_rate: float = 0.7,
    noise: float = 0.1,
    seed: int = 15,
    against_sklearn: bool = True,
) -> BenchResult:
    """Simulate ``days`` days for every reader in every arm; deterministic for ``seed``.

    ``against_sklearn``: also fit scikit-learn on the final feedback (when installed).
    """
    params = params or LearnParams()
    papers, sources = load_papers()
    random.Random(seed).shuffle(papers)
    per_day = max(len(papers) // days, 1)
    schedule = [papers[d * per_day : (d + 1) * per_day] for d in range(days)]
    everything = CorpusStats.from_papers(papers)
    truth = {r.name: _relevant(r.hidden, papers, everything) for r in readers}
    states = {
        (r.name, arm): ArmState(
            Profile(interests=r.visible, max_papers=cap), random.Random(f"{seed}:{r.name}:{arm}")
        )
        for r in readers
        for arm in ARMS
    }
    result = BenchResult(days, cap, len(papers), sources, [r.name for r in readers], states)
    with one_blas_thread():
        _simulate(schedule, readers, truth, params, judge_rate, noise, result)
        _effects(schedule, truth, result)
        result.sklearn = (
            _against_sklearn(result, papers, params) if against_sklearn else "not asked for"
        )
    return result


def _simulate(
    schedule: Sequence[Sequence[Paper]],
    readers: Sequence[SimReader],
    truth: Mapping[str, set[str]],
    params: LearnParams,
    judge_rate: float,
    noise: float,
    result: BenchResult,
) -> None:
    states = result.states
    cap = result.cap
    for number, todays in enumerate(schedule):
        seen = [p for d in schedule[: number + 1] for p in d]
        started = time.perf_counter()
        vocabulary, vectors = fit_transform(seen)
        result.vocabulary_seconds.append(time.perf_counter() - started)
        result.vocabulary_sizes.append(len(vocabulary.keys))
        by_id = {p.id: p for p in seen}
        day = _Day(todays, seen, CorpusStats.from_papers(seen), vocabulary, vectors, by_id)
        result.learning.append(0)
        for reader in readers:
            relevant = truth[reader.name]
            today = relevant & {p.id for p in todays}
            for arm in ARMS:
                state = states[(reader.name, arm)]
                shown = _digest(arm, state, day, params, result)
                state.precision.append(precision_at(shown, today, cap))
                state.ndcg.append(ndcg_at(shown, today, cap))
                _judge(state, shown, relevant, judge_rate, noise)
                if arm == "learned+suggest":
                    _review(reader.name, state, number, day, relevant, result)


def _effects(
    schedule: Sequence[Sequence[Paper]], truth: Mapping[str, set[str]], result: BenchResult
) -> None:
    """Whether each accepted suggestion helped on the days after it (see Accepted)."""
    for accepted in result.accepted:
        later = [p for d in schedule[accepted.day :] for p in d]
        if not later:
            continue
        stats = CorpusStats.from_papers(later)
        relevant = truth[accepted.reader] & {p.id for p in later}
        before = _f1(accepted.before, later, stats, relevant)
        after = _f1(accept(accepted.before, accepted.suggestion), later, stats, relevant)
        accepted.effect = "helped" if after > before else "hurt" if after < before else "no change"


def _f1(profile: Profile, papers: Sequence[Paper], stats: CorpusStats, relevant: set[str]) -> float:
    found = {m.paper_id for m in match_profile(profile, papers, stats)}
    return 2 * len(found & relevant) / (len(found) + (len(relevant) or 1))


def _relevant(queries: tuple[str, ...], papers: Sequence[Paper], stats: CorpusStats) -> set[str]:
    return {m.paper_id for m in match_profile(Profile(interests=queries), papers, stats)}


def _digest(
    arm: str, state: ArmState, day: _Day, params: LearnParams, result: BenchResult
) -> list[str]:
    """The ids of the papers the reader's digest shows today, in order."""
    matches: list[Match] = match_profile(state.profile, day.papers, day.stats)
    if arm == "keyword":
        return [m.paper_id for m in matches[: state.profile.max_papers]]
    started = time.perf_counter()
    reader = reader_for(state.feedback, day.vectors, day.vocabulary, params)
    if reader is not None:
        result.train_seconds.append(time.perf_counter() - started)
        if arm == "learned":
            result.learning[-1] += 1
    ranked = rerank(matches, day.vectors, reader, weight=params.weight)[: state.profile.max_papers]
    if arm == "learned":
        by_id = {p.id: p for p in day.papers}
        result.reasons.extend(
            f"{by_id[m.paper_id].title[:60]!r}: {reason_text(reason)}"
            for m, reason in ranked
            if reason is not None and len(result.reasons) < 6
        )
    return [m.paper_id for m, _ in ranked]


def _judge(
    state: ArmState, shown: Sequence[str], relevant: set[str], rate: float, noise: float
) -> None:
    for pid in shown:
        if state.rng.random() >= rate:
            continue
        useful = (pid in relevant) != (state.rng.random() < noise)
        state.feedback[pid] = "useful" if useful else "not_useful"


def _review(
    name: str, state: ArmState, number: int, day: _Day, relevant: set[str], result: BenchResult
) -> None:
    """The reader reads today's suggestions and accepts at most one that fits."""
    offered = [
        s
        for s in suggest(state.feedback, day.by_id, day.vocabulary, state.profile)
        if s.query not in state.declined
    ]
    result.offered += len(offered)
    for suggestion in offered:
        if _fits(suggestion, state.profile, day.seen, day.stats, relevant):
            result.accepted.append(Accepted(name, number + 1, suggestion, state.profile))
            state.profile = accept(state.profile, suggestion)
            break
        state.declined.add(suggestion.query)


def _fits(
    suggestion: Suggestion,
    profile: Profile,
    seen: Sequence[Paper],
    stats: CorpusStats,
    relevant: set[str],
) -> bool:
    """Whether a reader who knows their interest would say yes: on the papers seen so far,
    the changed profile agrees better (F1) with what they want, and an exclusion drops
    no paper they wanted."""
    before = {m.paper_id for m in match_profile(profile, seen, stats)}
    after = {m.paper_id for m in match_profile(accept(profile, suggestion), seen, stats)}
    if suggestion.kind == "exclusion" and (before - after) & relevant:
        return False
    wanted = len(relevant & {p.id for p in seen}) or 1

    def f1(found: set[str]) -> float:
        return 2 * len(found & relevant) / (len(found) + wanted)

    return f1(after) > f1(before)


def _against_sklearn(result: BenchResult, papers: Sequence[Paper], params: LearnParams) -> str:
    """scikit-learn's LogisticRegression on the same examples: agreement and time."""
    try:
        import numpy as np
        from scipy.sparse import csr_matrix
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        return result.sklearn
    from alertbot.learn import train

    vocabulary, vectors = fit_transform(papers)
    ours_s: list[float] = []
    theirs_s: list[float] = []
    gaps: list[float] = []
    overlap: list[float] = []
    for name in result.readers:
        feedback = result.states[(name, "learned")].feedback
        examples = [(vectors[pid], v == "useful") for pid, v in sorted(feedback.items())]
        if len({useful for _, useful in examples}) < 2:
            continue
        started = time.perf_counter()
        model = train(examples, l2=params.l2)
        ours_s.append(time.perf_counter() - started)
        assert model is not None
        rows = [v for v, _ in examples] + list(vectors.values())
        data = np.concatenate([v.values for v in rows])
        cols = np.concatenate([v.indices for v in rows])
        ptr = np.cumsum([0] + [len(v.indices) for v in rows])
        matrix = csr_matrix((data, cols, ptr), shape=(len(rows), len(vocabulary.keys)))
        labels = [1 if useful else 0 for _, useful in examples]
        started = time.perf_counter()
        fitted = LogisticRegression(
            C=1.0 / params.l2,
            class_weight="balanced",
            solver="liblinear",
            tol=1e-10,
            intercept_scaling=1.0,
            max_iter=10_000,
        ).fit(matrix[: len(examples)], labels)
        theirs_s.append(time.perf_counter() - started)
        theirs = fitted.decision_function(matrix[len(examples) :])
        ours = np.array([model.decision(v) for v in vectors.values()])
        gaps.append(float(np.max(np.abs(ours - theirs))))
        top_ours = set(np.argsort(-ours, kind="stable")[:10].tolist())
        top_theirs = set(np.argsort(-theirs, kind="stable")[:10].tolist())
        overlap.append(len(top_ours & top_theirs) / 10)
    if not gaps:
        return "no reader had both kinds of feedback"
    return (
        f"same examples, {len(gaps)} readers: largest difference in w.x+b over all "
        f"{len(vectors)} papers {max(gaps):.2g}; top-10 agreement {statistics.fmean(overlap):.0%}; "
        f"fit median {statistics.median(ours_s) * 1e3:.1f} ms (numpy) vs "
        f"{statistics.median(theirs_s) * 1e3:.1f} ms (scikit-learn liblinear)"
    )

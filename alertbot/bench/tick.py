"""``alertbot bench tick``: one dispatcher tick for N due subscribers, and an idle one.

The world (``world.py``) is a store as it looks on a working day: two days of 1,000
papers (the last day's are the new ones), N subscribers with the realistic profiles of
``alertbot bench match`` (real text, 1-4 interests, about 2.5% of a day's papers
matching each; ``--workload easy`` for the older generator), max 20 papers each, each
due now, and yesterday's digest sent to every one of them with its papers marked
delivered, so the candidates rules have history to read.

Each run deletes today's outbox rows (and puts ``last_digest_date`` back), then times
``queue_due`` (every subscriber due) and, right after, a second ``queue_due`` with
nothing left to do (the idle tick every minute costs). The runs share one
``TickCaches``, as the service's dispatcher does: the first is the **cold** tick (just
started, every profile parsed and compiled); each later one is a **daily** tick, the
profiles compiled the day before kept, but the corpus, its statistics and the TeX shown
worked out afresh (the morning's fetch brought new papers). The daily figures are the
medians of those runs, with the time of each phase of the tick. The baseline, in the same run,
is what the obvious alternative costs on this store: queueing through one transaction
per digest (as the dispatcher did before multi-row inserts), timed on a sample of rows
and extrapolated, beside the tick's own insert phase.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import SecretStr
from sqlalchemy import Engine, delete, select, update

from alertbot.bench.planners import Tick
from alertbot.bench.planners import planners as planner_pool
from alertbot.bench.world import (
    NOW,
    PAPERS_PER_DAY,
    add_feedback,
    build_world,
    store_url,
    workload_for,
)
from alertbot.config import Settings
from alertbot.corpus import load_corpus
from alertbot.deliver.queue import TickCaches
from alertbot.model import OutboxState
from alertbot.readers import VocabularyCache
from alertbot.store import chosen, connect, enqueue, migrate
from alertbot.store.schema import endpoints
from alertbot.store.schema import outbox as outbox_table

PHASES = (
    "due", "subscribers", "corpus", "candidates", "match", "learn", "build", "insert", "wait",
)  # fmt: skip
# A bucket's writes run on a thread of their own beside the next bucket's planning
# (alertbot/deliver/queue.py): "insert" is their time, "wait" the part the planner
# waited for, so only "wait" is on the tick's path.
BESIDE = ("insert",)


_PHASE_NAMES = {
    "insert": "insert (beside the next bucket's planning)",
    "wait": "wait (the planner waiting for the insert)",
}


def _on_path(phases: dict[str, float]) -> float:
    return sum(v for k, v in phases.items() if k not in BESIDE)


@dataclass
class TickResult:
    """Medians over the runs, in seconds."""

    backend: str
    workload: str
    subscribers: int
    papers: int
    runs: int
    planners: int
    tick: float  # the daily tick: median of the runs after the first (the first if one)
    idle: float
    queued: int
    looked_at: int = 0
    idle_looked_at: int = 0
    phases: dict[str, float] = field(default_factory=dict)
    per_digest_insert_sample: int = 0
    per_digest_insert_seconds: float = 0.0  # extrapolated to every digest
    feedback: float = 0.0  # share of readers with enough feedback for the learned ranking
    learned: int = 0  # digests the learned ranking ordered
    vocabulary_fit: float = 0.0  # the learned ranking's corpus vocabulary, fitted once
    cold: float = 0.0  # the first run: nothing kept from an earlier tick
    cold_phases: dict[str, float] = field(default_factory=dict)  # the first run's

    def rows(self) -> list[tuple[str, str]]:
        other = max(self.tick - _on_path(self.phases), 0.0)
        out = [
            ("backend / workload", f"{self.backend} / {self.workload}"),
            ("planners (processes ticking together)", self._planners_label()),
            ("due subscribers / digests queued", f"{self.subscribers:,} / {self.queued:,}"),
            ("papers stored (new today)", f"{self.papers:,} ({PAPERS_PER_DAY:,})"),
            ("tick, cold (the first after start: every profile compiled)", f"{self.cold:.2f} s"),
            (self._daily_label(), f"{self.tick:.2f} s"),
            ("tick per due subscriber", f"{self.tick / max(self.subscribers, 1) * 1e6:.0f} us"),
            (
                "endpoints looked at: busy tick / idle tick",
                f"{self.looked_at:,} / {self.idle_looked_at:,}",
            ),
            ("idle tick (nothing due)", f"{self.idle * 1000:.1f} ms"),
            (
                "readers with feedback / digests re-ranked",
                f"{self.feedback:.0%} / {self.learned:,}",
            ),
        ]
        if self.learned:
            out.append(
                ("  vocabulary fit (once per corpus, kept between ticks)",
                 f"{self.vocabulary_fit:.2f} s")
            )  # fmt: skip
        # Beside each daily phase, the cold tick's: what being just started costs (every
        # subscriber loaded, every profile compiled) shows where it falls.
        summed = " (summed over the planners)" if self.planners > 1 else ""
        label = "daily / cold" if self.runs > 1 else "cold"
        for p in PHASES:
            both = self._both(self.phases.get(p, 0.0), self.cold_phases.get(p, 0.0))
            name = _PHASE_NAMES.get(p, p)
            out.append((f"  phase {name}{summed}, {label}", both))
        if self.planners <= 1:
            cold_other = max(self.cold - _on_path(self.cold_phases), 0.0)
            out.append((f"  phase other (commits, logs), {label}", self._both(other, cold_other)))
        if self.per_digest_insert_sample:
            insert = self.phases.get("insert", 0.0)
            out += [
                (
                    f"baseline: one transaction per digest ({self.per_digest_insert_sample:,}"
                    " rows, extrapolated)",
                    f"{self.per_digest_insert_seconds:.2f} s",
                ),
                (
                    "multi-row insert speed-up",
                    f"{self.per_digest_insert_seconds / max(insert, 1e-9):.1f}x",
                ),
            ]
        out += [
            ("daily tick / 60 s dispatch interval", f"{self.tick / 60:.2f}"),
            ("daily tick / 15 s target", f"{self.tick / 15:.2f}"),
            ("cold tick / 15 s target", f"{self.cold / 15:.2f}"),
        ]
        return out

    def _both(self, daily: float, cold: float) -> str:
        return f"{daily:.2f} s / {cold:.2f} s" if self.runs > 1 else f"{cold:.2f} s"

    def _planners_label(self) -> str:
        if self.planners > 1 and self.backend == "sqlite":
            return f"{self.planners} (SQLite has one writer: they take turns)"
        return str(self.planners)

    def _daily_label(self) -> str:
        if self.runs < 2:
            return "tick, daily (needs --runs 2 or more: the cold one shown)"
        return f"tick, daily (profiles kept, new corpus), median of {self.runs - 1}"


def _reset(engine: Engine) -> None:
    """Forget today's digests, so the next tick has everything to do again."""
    yesterday = (NOW - timedelta(days=1)).date()
    with engine.begin() as conn:
        conn.execute(delete(outbox_table).where(outbox_table.c.digest_date > yesterday))
        conn.execute(update(endpoints).values(last_digest_date=yesterday, next_due_at=None))


def _per_digest_baseline(engine: Engine, sample: int) -> float:
    """Seconds to queue ``sample`` of today's digests one transaction each (the old way)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                outbox_table.c.subscriber_id,
                outbox_table.c.endpoint_id,
                outbox_table.c.digest_date,
                outbox_table.c.state,
                outbox_table.c.paper_ids,
                outbox_table.c.more,
                outbox_table.c.matches,
            )
            .where(outbox_table.c.digest_date == NOW.date())
            .limit(sample)
        ).all()
    with engine.begin() as conn:
        conn.execute(
            delete(outbox_table).where(outbox_table.c.endpoint_id.in_([r[1] for r in rows]))
        )
    started = time.perf_counter()
    for r in rows:
        # What the tick stored (bare: the profile's interests, the papers, their scores).
        matches = chosen.decode(r.matches, r.paper_ids)
        bare = chosen.Bare(
            matches[0].interests if matches else (),
            [m.paper_id for m in matches],
            [m.score for m in matches],
        )
        row = enqueue.NewRow(
            r.subscriber_id, r.endpoint_id, r.digest_date, OutboxState(r.state),
            more=r.more, bare=bare,
        )  # fmt: skip
        enqueue.insert_many(engine, [row], now=NOW)
    return time.perf_counter() - started


def run_bench(
    n: int,
    *,
    backend: str = "sqlite",
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/postgres",
    runs: int = 3,
    days: int = 2,
    baseline_sample: int = 1000,
    workdir: str | None = None,
    workload: str = "realistic",
    feedback: float = 0.0,
    planners: int = 1,
) -> TickResult:
    """Build the world once, then time ``runs`` busy ticks and idle ticks; medians.

    ``feedback``: the share of readers who judged yesterday's papers (``VERDICTS_EACH``
    useful and as many not useful, drawn from their delivered papers), so their digests
    are re-ranked. The corpus vocabulary is kept between ticks as the service keeps it
    (refitted when papers arrive): its one fit is timed apart (with one planner; with
    several, each fits its own in its cold tick). ``planners``: that many planner
    processes tick together (:mod:`alertbot.bench.planners`)."""
    papers, profiles = workload_for(workload, days * PAPERS_PER_DAY, n)
    with (
        tempfile.TemporaryDirectory(prefix="alertbot-bench-tick-", dir=workdir) as tmp,
        store_url(backend, postgres_url, tmp) as url,
    ):
        engine = connect(url)
        try:
            migrate(engine)
            build_world(engine, n, papers, profiles)
            add_feedback(engine, n, feedback)
            settings = Settings(
                data_dir=tmp,
                database_url=url,
                secret_key=SecretStr("bench-secret-key-not-for-production"),
            )
            vocabulary = VocabularyCache()
            fit = 0.0
            if feedback > 0 and planners <= 1:
                started = time.perf_counter()
                vocabulary.get(
                    engine,
                    load_corpus(engine, now=NOW, days=settings.match.corpus_days).papers,
                    now=NOW,
                    days=settings.match.corpus_days,
                )
                fit = time.perf_counter() - started
            ticks: list[Tick] = []
            idles: list[Tick] = []
            caches = TickCaches(vocabulary=vocabulary)
            with planner_pool(engine, settings, planners, caches) as pool:
                for run in range(runs):
                    if run:
                        _reset(engine)
                    # From the second run on, the next day's tick: the planners kept the
                    # compiled profiles, but the morning's fetch brought new papers, so
                    # the corpus, its statistics and the TeX shown are worked out afresh.
                    ticks.append(pool.tick(NOW, new_day=run > 0))
                    idles.append(pool.tick(NOW + timedelta(minutes=1), new_day=False))
            sample = min(baseline_sample, n)
            per_digest = _per_digest_baseline(engine, sample) * n / max(sample, 1)
        finally:
            engine.dispose()
    return TickResult(
        backend=backend,
        workload=workload,
        subscribers=n,
        papers=len(papers),
        runs=runs,
        planners=planners,
        cold=ticks[0].seconds,
        cold_phases={p: ticks[0].phases.get(p, 0.0) for p in PHASES},
        tick=statistics.median(t.seconds for t in ticks[1:] or ticks),
        idle=statistics.median(t.seconds for t in idles),
        queued=ticks[-1].planned,
        looked_at=ticks[-1].looked_at,
        idle_looked_at=idles[-1].looked_at,
        phases={
            p: statistics.median(t.phases.get(p, 0.0) for t in ticks[1:] or ticks) for p in PHASES
        },
        per_digest_insert_sample=sample,
        per_digest_insert_seconds=per_digest,
        feedback=feedback,
        learned=ticks[-1].learned,
        vocabulary_fit=fit,
    )

"""``alertbot bench tick``: one dispatcher tick for N due subscribers, and an idle one.

The world is a store as it looks on a working day: ``days`` days of 1,000 papers each
(the last day's are the new ones), N subscribers with the realistic profiles of
``alertbot bench match`` (real text, 1-4 interests, about 2.5% of a day's papers
matching each; ``--workload easy`` for the older generator), max 20 papers each, each
with one email endpoint whose send time has passed, and yesterday's digest sent to
every one of them with its papers marked delivered, so the candidates rules have
history to read. Rows are bulk-loaded (COPY on
PostgreSQL), not through the store's functions: setting up is not what is measured.

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

import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, Table, delete, select, text, update

from alertbot.bench.match import generate_papers, generate_profiles
from alertbot.bench.planners import Tick
from alertbot.bench.planners import planners as planner_pool
from alertbot.bench.workload import real_papers, realistic_profiles
from alertbot.config import Settings
from alertbot.corpus import load_corpus
from alertbot.deliver.queue import TickCaches
from alertbot.model import EndpointKind, OutboxState, Paper, Profile
from alertbot.readers import VocabularyCache
from alertbot.samples import sample_dump_paths
from alertbot.sources import load_papers
from alertbot.store import chosen, connect, enqueue, migrate
from alertbot.store.papers import upsert_papers
from alertbot.store.schema import delivered_papers, endpoints, profile_queries, subscribers
from alertbot.store.schema import feedback as feedback_table
from alertbot.store.schema import outbox as outbox_table

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday morning
PAPERS_PER_DAY = 1000
MAX_PAPERS = 20
DELIVERED_PER_DIGEST = 20
# Zones whose local time at NOW is past the send times drawn below (before 07:00 local).
ZONES = ("UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo")
PHASES = ("due", "subscribers", "corpus", "candidates", "match", "learn", "build", "insert")
VERDICTS_EACH = 10  # --feedback: useful and not useful verdicts per reader who gives them


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

    def rows(self) -> list[tuple[str, str]]:
        other = max(self.tick - sum(self.phases.values()), 0.0)
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
        summed = " (summed over the planners)" if self.planners > 1 else ""
        out += [(f"  phase {p}{summed}", f"{self.phases.get(p, 0.0):.2f} s") for p in PHASES]
        if self.planners <= 1:
            out.append(("  phase other (commits, logs)", f"{other:.2f} s"))
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

    def _planners_label(self) -> str:
        if self.planners > 1 and self.backend == "sqlite":
            return f"{self.planners} (SQLite has one writer: they take turns)"
        return str(self.planners)

    def _daily_label(self) -> str:
        if self.runs < 2:
            return "tick, daily (needs --runs 2 or more: the cold one shown)"
        return f"tick, daily (profiles kept, new corpus), median of {self.runs - 1}"


@contextmanager
def _postgres_schema(url: str) -> Iterator[str]:
    """A throwaway schema on the PostgreSQL server at ``url``; yields a URL that uses it."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = connect(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _bulk(engine: Engine, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Load rows fast, straight through the driver: COPY on PostgreSQL, executemany on
    SQLite (values written as SQLAlchemy writes them there)."""
    if not rows:
        return
    names = list(rows[0])
    with engine.begin() as conn:
        raw: Any = conn.connection.dbapi_connection
        if conn.dialect.name == "postgresql":
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row([_value(row[n], sqlite=False) for n in names])
            return
        marks = ", ".join("?" for _ in names)
        raw.executemany(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})",  # noqa: S608
            ([_value(row[n], sqlite=True) for n in names] for row in rows),
        )


def _value(value: Any, *, sqlite: bool) -> Any:
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    if sqlite and isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if sqlite and isinstance(value, date):
        return value.isoformat()
    return value


def build_world(
    engine: Engine, n: int, papers: Sequence[Paper], profiles: Sequence[Profile]
) -> None:
    """Store the papers (the last PAPERS_PER_DAY are today's) and ``n`` subscribers."""
    days = max(len(papers) // PAPERS_PER_DAY, 1)
    for day in range(days):
        part = papers[day * PAPERS_PER_DAY : (day + 1) * PAPERS_PER_DAY]
        stored_at = NOW - timedelta(days=days - 1 - day, hours=2)
        upsert_papers(engine, part, source="bench", now=stored_at)
    rng = random.Random(5)  # reproducible test data, not secrets
    joined = NOW - timedelta(days=30)
    subs: list[dict[str, Any]] = []
    queries: list[dict[str, Any]] = []
    eps: list[dict[str, Any]] = []
    for i in range(n):
        sid = i + 1
        profile = profiles[i % len(profiles)]
        subs.append(
            {
                "id": sid,
                "name": f"Reader {sid}",
                "timezone": rng.choice(ZONES),
                "send_time": f"{rng.randrange(0, 7):02d}:{rng.choice((0, 15, 30, 45)):02d}",
                "frequency": "daily",
                "weekly_day": 0,
                "active": True,
                "min_score": profile.min_score,
                "max_papers": MAX_PAPERS,
                "created_at": joined,
                "updated_at": joined,
            }
        )
        for kind, texts in (("interest", profile.interests), ("exclusion", profile.exclusions)):
            queries += [
                {"subscriber_id": sid, "kind": kind, "position": k, "query": q}
                for k, q in enumerate(texts)
            ]
        eps.append(
            {
                "id": sid,
                "subscriber_id": sid,
                "kind": EndpointKind.EMAIL.value,
                "address": f"reader{sid}@example.org",
                "active": True,
                "confirmed": True,
                "created_at": joined,
            }
        )
    _bulk(engine, subscribers, subs)
    _bulk(engine, profile_queries, queries)
    _bulk(engine, endpoints, eps)
    _yesterday(engine, n, papers, rng)


def _yesterday(engine: Engine, n: int, papers: Sequence[Paper], rng: random.Random) -> None:
    """Yesterday's digest, sent to everyone, its papers delivered."""
    yesterday = (NOW - timedelta(days=1)).date()
    queued = NOW - timedelta(days=1)
    older = [p.id for p in papers[:-PAPERS_PER_DAY]] or [p.id for p in papers]
    rows: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    stored = NOW - timedelta(days=1, hours=2)
    for i in range(n):
        chosen = rng.sample(older, min(DELIVERED_PER_DIGEST, len(older)))
        rows.append(
            {
                "id": i + 1,
                "subscriber_id": i + 1,
                "endpoint_id": i + 1,
                "digest_date": yesterday,
                "state": OutboxState.SENT.value,
                "attempts": 1,
                "next_attempt_at": queued,
                "created_at": queued,
                "sent_at": queued + timedelta(minutes=1),
                "paper_ids": chosen,
                "more": 0,
            }
        )
        marks += [
            {
                "endpoint_id": i + 1,
                "paper_id": pid,
                "outbox_id": i + 1,
                "delivered_at": queued + timedelta(minutes=1),
                "first_seen": stored,
            }
            for pid in chosen
        ]
    _bulk(engine, outbox_table, rows)
    _bulk(engine, delivered_papers, marks)
    with engine.begin() as conn:
        conn.execute(update(endpoints).values(last_digest_date=yesterday))
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('outbox_id_seq', (SELECT max(id) FROM outbox))"))
            conn.execute(text("ANALYZE"))


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

    ``feedback``: the share of readers who judged yesterday's papers (VERDICTS_EACH
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
            _feedback(engine, n, feedback)
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


def _feedback(engine: Engine, n: int, share: float) -> None:
    """Verdicts from ``share`` of the readers on papers yesterday's digest brought them."""
    if share <= 0:
        return
    rng = random.Random(15)  # reproducible test data, not secrets
    judges = rng.sample(range(1, n + 1), round(share * n))
    with engine.connect() as conn:
        delivered = conn.execute(
            select(delivered_papers.c.endpoint_id, delivered_papers.c.paper_id).where(
                delivered_papers.c.endpoint_id.in_(judges)
            )
        ).all()
    by_reader: dict[int, list[str]] = {}
    for endpoint_id, paper_id in delivered:
        by_reader.setdefault(int(endpoint_id), []).append(str(paper_id))
    rows: list[dict[str, Any]] = []
    for sid, got in sorted(by_reader.items()):
        picked = rng.sample(sorted(got), min(2 * VERDICTS_EACH, len(got)))
        rows += [
            {"subscriber_id": sid, "paper_id": pid, "at": NOW - timedelta(hours=20),
             "value": "useful" if k < VERDICTS_EACH else "not_useful", "channel": "email"}
            for k, pid in enumerate(picked)
        ]  # fmt: skip
    _bulk(engine, feedback_table, rows)


@contextmanager
def store_url(backend: str, postgres_url: str, tmp: str) -> Iterator[str]:
    """A store for a benchmark: a file in ``tmp``, or a throwaway PostgreSQL schema."""
    if backend == "postgres":
        with _postgres_schema(postgres_url) as url:
            yield url
    elif backend == "sqlite":
        yield f"sqlite:///{tmp}/bench.sqlite3"
    else:
        raise ValueError(f"unknown backend {backend!r} (sqlite or postgres)")


def workload_for(kind: str, n_papers: int, n_profiles: int) -> tuple[list[Paper], list[Profile]]:
    """Papers and profiles: ``realistic`` (real text, profiles calibrated to match about
    2.5% of a day's papers, as ``bench match`` uses) or ``easy`` (the older generator)."""
    seed = [p for path in sample_dump_paths() for p in load_papers(str(path), now=NOW)]
    if kind == "realistic":
        papers = real_papers(seed, n_papers)
        today = papers[-PAPERS_PER_DAY:]
        return papers, list(realistic_profiles(today, n_profiles).values())
    if kind == "easy":
        texts = [p.abstract for p in seed]
        return generate_papers(texts, n_papers), list(generate_profiles(texts, n_profiles).values())
    raise ValueError(f"unknown workload {kind!r} (realistic or easy)")


def _texts() -> list[str]:
    return [p.abstract for path in sample_dump_paths() for p in load_papers(str(path), now=NOW)]

"""``alertbot bench deliver``: render and send N digests to a local SMTP sink.

The sink (Postfix's C ``smtp-sink``, else aiosmtpd's) and the raw smtplib baselines are
:mod:`alertbot.bench.sink`. The run goes through the real path: the sample dumps in a
temporary store (SQLite or PostgreSQL), N subscribers with varied profiles,
``queue_due`` then ``send_due``. With ``workers`` > 1, that many processes run
``send_due`` on the same outbox at once (as several dispatchers would), each with its
own SMTP connection; the outbox's claims keep them from sending a row twice. Their clock
starts once all of them have started (interpreter start-up is not delivery), and stops
when the last ends.

The baseline, in the same run, is raw ``smtplib`` sending N messages over one connection,
the exact bytes of digests the workers sent (every seventh kept), replayed in turn so the
mix of sizes is theirs: the cost of SMTP alone for these messages, which the digest rate
is compared with. With several workers
it is also run with as many connections at once: what bare SMTP reaches on these cores
with that many senders, the ceiling for the digest rate. The sink shares the machine's
cores with the workers, so it is part of what is measured; its CPU time per message is
reported so that ceiling is visible.

Two more ceilings are printed, since on a shared machine the wall rate alone says little:
the workers' CPU per digest (how fast they would go with their cores to themselves), and
one durable commit on the store, timed in the same run. On SQLite each message waits for
one (its hand-over, before the final dot: ``alertbot/store/attempts.py``) and the
writers take turns, so no number of workers sends faster than one message per commit;
on PostgreSQL each worker waits for one a message too (its hand-over, carrying the
previous row's ``sent``), but the workers' commits are flushed together.
Several runs (``summary``) give each measure's median and range.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, text

from alertbot.bench.sink import baseline as raw_baseline
from alertbot.bench.sink import cpu_seconds, parallel_baseline, replayed, smtp_sink
from alertbot.bench.together import run_together
from alertbot.bench.world import store_url
from alertbot.config import Settings
from alertbot.config_sections import DeliverySettings, SmtpSettings, SourceConfig
from alertbot.deliver.base import HandOver, Rendered
from alertbot.deliver.email import EmailChannel
from alertbot.deliver.queue import queue_due
from alertbot.deliver.worker import SendReport, send_due
from alertbot.model import Digest, EndpointKind, Profile
from alertbot.pipeline import fetch_sources
from alertbot.samples import sample_dump_paths
from alertbot.store import connect, migrate
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as subscriber_store

PROFILES: tuple[tuple[str, ...], ...] = (
    ('"language model"', "llm*"),
    ('"object detection"', "segmentation", "video*"),
    ("quantization", "spiking", "hardware"),
    ("protein*", "molecul*", "chemistry"),
    ("diffusion", '"image generation"'),
    ("reinforcement", "agent*"),
)


@dataclass(frozen=True, slots=True)
class BenchResult:
    digests: int
    workers: int
    queue_seconds: float
    reports: list[SendReport]
    send_seconds: float  # wall clock, all workers
    baseline_seconds: float
    message_bytes: int
    baseline_bytes: int
    sink_cpu_ms: float | None  # the sink's CPU per baseline message
    sink: str = "aiosmtpd"
    backend: str = "sqlite"
    worker_cpu_seconds: float = 0.0  # all workers, user + system, while sending
    commit_ms: float = 0.0  # one durable (fsync'd) commit on this store
    parallel_seconds: float | None = None  # raw smtplib, one connection per worker at once

    @property
    def sent(self) -> int:
        return sum(r.counts().get("sent", 0) for r in self.reports)

    @property
    def rate(self) -> float:
        """Digests sent per second, all workers together."""
        return self.sent / (self.send_seconds or 1e-9)

    @property
    def raw_rate(self) -> float:
        """Raw smtplib's messages per second over one connection."""
        return self.digests / (self.baseline_seconds or 1e-9)

    @property
    def parallel_rate(self) -> float | None:
        """Raw smtplib's messages per second with one connection per worker at once."""
        if self.parallel_seconds is None:
            return None
        return self.digests / (self.parallel_seconds or 1e-9)

    @property
    def cpu_ms(self) -> float:
        """The workers' CPU per digest sent, in milliseconds."""
        return self.worker_cpu_seconds * 1000 / max(self.sent, 1)

    def rows(self) -> list[tuple[str, str]]:
        busy = sum(r.total_seconds for r in self.reports) or 1e-9
        render = sum(r.render_seconds for r in self.reports)
        send = sum(r.send_seconds for r in self.reports)
        sent, rate, raw, cpu_ms = self.sent, self.rate, self.raw_rate, self.cpu_ms
        other = max(busy - render - send, 0.0)
        sink = f"{self.sink_cpu_ms:.2f} ms" if self.sink_cpu_ms is not None else "n/a"
        # On SQLite each message waits for one durable commit (the hand-over, before its
        # final dot), and writers take turns, so that wait is the store's, not each
        # worker's. On PostgreSQL each worker waits for one too (the hand-over carrying
        # the previous ``sent``, alertbot/store/attempts.py), side by side with the
        # other workers'.
        sqlite = self.backend == "sqlite"
        writers = 1 if sqlite else self.workers
        disk_ceiling = writers * 1000 / self.commit_ms if self.commit_ms else float("inf")
        cpu_ceiling = self.workers * 1000 / cpu_ms if cpu_ms else float("inf")
        return [
            ("sink / store", f"{self.sink} / {self.backend}"),
            ("digests sent", f"{sent} of {self.digests}"),
            ("average message size", f"{self.message_bytes / 1000:.1f} kB"),
            ("baseline average message size", f"{self.baseline_bytes / 1000:.1f} kB"),
            ("queue (match + build)", f"{self.queue_seconds:.2f} s"),
            ("send_due workers (processes, one SMTP connection each)", str(self.workers)),
            ("send_due wall clock", f"{self.send_seconds:.2f} s"),
            ("digests/s (render + send + outbox)", f"{rate:.0f}"),
            ("share render", f"{render / busy:.0%}"),
            ("share send (MIME + SMTP)", f"{send / busy:.0%}"),
            ("share outbox (database, load, bookkeeping)", f"{other / busy:.0%}"),
            (
                "baseline: raw smtplib, the digests' bytes replayed, one connection, messages/s",
                f"{raw:.0f}",
            ),
            ("sink CPU per baseline message", sink),
            *self._parallel_rows(rate),
            ("worker CPU per digest (render, MIME, SMTP client, store client)", f"{cpu_ms:.2f} ms"),
            ("one durable commit on this store (the hand-over's wait)", f"{self.commit_ms:.2f} ms"),
            (
                "ceiling: one durable commit per message (SQLite writers take turns)"
                if sqlite
                else f"ceiling: one durable commit per message ({writers} writers)",
                f"{disk_ceiling:.0f}/s",
            ),
            (
                f"ceiling: worker CPU alone, {self.workers} core(s) to themselves",
                f"{cpu_ceiling:.0f}/s",
            ),
            ("digest rate / raw SMTP rate (target >= 0.33)", f"{rate / raw:.2f}"),
            ("digest rate / 1,000 per second target", f"{rate / 1000:.2f}"),
        ]

    def _parallel_rows(self, rate: float) -> list[tuple[str, str]]:
        """What bare SMTP does with as many connections as workers: the ceiling the sink
        and the cores set before anything is rendered or recorded."""
        raw = self.parallel_rate
        if raw is None:
            return []
        many = f"{self.workers} connections"
        return [
            (f"baseline: raw smtplib, {many} at once, messages/s", f"{raw:.0f}"),
            (f"digest rate / raw SMTP rate with {many}", f"{rate / raw:.2f}"),
        ]


def summary(results: Sequence[BenchResult]) -> list[tuple[str, str]]:
    """Several runs of the same bench, each measure as ``median (min-max)``.

    On a shared machine one run's rate says little: neighbours move the digest rate and
    raw smtplib's between runs, and each run compares the two under the same load, so
    the median of the per-run ratios is the figure to quote.
    """
    first, runs = results[0], len(results)

    def spread(values: Sequence[float], fmt: str) -> str:
        return (
            f"{format(statistics.median(values), fmt)} "
            f"({format(min(values), fmt)}-{format(max(values), fmt)})"
        )

    rows = [
        ("sink / store", f"{first.sink} / {first.backend}"),
        ("runs (each: queue, send, baselines)", str(runs)),
        (
            "digests sent, all runs",
            f"{sum(r.sent for r in results)} of {first.digests * runs}",
        ),
        ("digests/s, median (min-max)", spread([r.rate for r in results], ".0f")),
        ("raw smtplib, one connection, messages/s", spread([r.raw_rate for r in results], ".0f")),
        ("worker CPU per digest, ms", spread([r.cpu_ms for r in results], ".2f")),
        (
            "digest rate / raw SMTP rate (target >= 0.33)",
            spread([r.rate / r.raw_rate for r in results], ".2f"),
        ),
    ]
    parallel = [(r.rate, r.parallel_rate) for r in results if r.parallel_rate is not None]
    if parallel:
        many = f"{first.workers} connections"
        rows += [
            (f"raw smtplib, {many} at once, messages/s", spread([p for _, p in parallel], ".0f")),
            (
                f"digest rate / raw SMTP rate with {many}",
                spread([d / p for d, p in parallel], ".2f"),
            ),
        ]
    rows.append(
        ("digest rate / 1,000 per second target", spread([r.rate / 1000 for r in results], ".2f"))
    )
    return rows


def _subscribe(engine: Engine, n: int, now: datetime) -> None:
    with engine.begin() as conn:
        for i in range(n):
            sub = subscriber_store.create_subscriber(
                conn,
                name=f"Reader {i}",
                now=now - timedelta(days=1),
                profile=Profile(interests=PROFILES[i % len(PROFILES)], max_papers=10),
                send_time=clock_time(0, 0),
            )
            endpoint_store.add_endpoint(
                conn, sub.id, EndpointKind.EMAIL, f"reader{i}@example.org", now=now
            )


def _durable_commit_ms(url: str, n: int = 50) -> float:
    """Milliseconds per durable commit of a one-row update on the bench's store: what
    each message's hand-over waits for (an fsync on SQLite, a WAL flush on PostgreSQL)."""
    engine = connect(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_commit_probe (n INTEGER)"))
            conn.execute(text("INSERT INTO bench_commit_probe (n) VALUES (0)"))
        started = time.perf_counter()
        for i in range(n):
            with engine.begin() as conn:
                conn.execute(text("UPDATE bench_commit_probe SET n = :n"), {"n": i})
        return (time.perf_counter() - started) * 1000 / n
    finally:
        engine.dispose()


class SamplingChannel(EmailChannel):
    """The SMTP channel, keeping every ``every``-th message sent (for the baseline)."""

    def __init__(self, settings: SmtpSettings, every: int = 7) -> None:
        super().__init__(settings)
        self.every = every
        self.samples: list[bytes] = []

    def send(
        self, digest: Digest, rendered: Rendered, *, outbox_id: int, hand_over: HandOver
    ) -> str | None:
        message_id = super().send(digest, rendered, outbox_id=outbox_id, hand_over=hand_over)
        if self.messages_sent % self.every == 1 and len(self.samples) < 256:
            self.samples.append(self.last_message)
        return message_id


def _drain(
    settings: Settings, now: datetime, worker_id: str, ready: Any, go: Any, results: Any
) -> None:
    """One worker process: wait for the start signal, then ``send_due`` until empty."""
    engine = connect(settings.effective_database_url)
    channel = SamplingChannel(settings.smtp)
    ready.release()
    go.wait()
    cpu = time.process_time()
    try:
        report = send_due(
            engine,
            settings,
            now=lambda: now,
            channels={EndpointKind.EMAIL: channel},
            worker_id=worker_id,
        )
        cpu = time.process_time() - cpu
    finally:
        engine.dispose()
    # Sampled wire bytes go back too: the baseline replays them in turn.
    results.put((report, channel.samples, channel.bytes_sent, channel.messages_sent, cpu))


def run_bench(
    n: int,
    *,
    workers: int = 1,
    now: datetime | None = None,
    backend: str = "sqlite",
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/postgres",
) -> BenchResult:
    """Build and send ``n`` digests with ``workers`` processes; measure where the time goes."""
    now = now or datetime.now(UTC)
    with (
        tempfile.TemporaryDirectory(prefix="alertbot-bench-") as tmp,
        store_url(backend, postgres_url, tmp) as url,
        smtp_sink() as sink,
    ):
        port, sink_pid, sink_name = sink
        folder = Path(tmp)
        settings = Settings(
            data_dir=folder,
            database_url=url,
            secret_key=SecretStr("bench-secret-key-not-for-production"),  # throwaway store
            sources=[
                SourceConfig(name=f"sample-{p.stem}", location=str(p)) for p in sample_dump_paths()
            ],
            smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"),
            # Small enough batches that every worker gets a share of the outbox.
            delivery=DeliverySettings(batch_size=max(min(500, n // (workers * 4)), 1)),
        )
        engine = connect(settings.effective_database_url)
        try:
            migrate(engine)
            fetch_sources(engine, settings, now=lambda: now)
            _subscribe(engine, n, now)
            started = time.perf_counter()
            queue_due(engine, settings, now=now)
            queued = time.perf_counter() - started
        finally:
            engine.dispose()
        arguments = [(settings, now, f"bench-{i}") for i in range(workers)]
        done, wall = run_together(_drain, arguments, what="bench worker")
        reports = [report for report, *_ in done]
        size = sum(d[2] for d in done) // max(sum(d[3] for d in done), 1)
        samples = [m for _, kept, *_ in done for m in kept] or [b""]
        messages = replayed(n, samples)
        cpu_before = cpu_seconds(sink_pid)
        baseline = raw_baseline(port, messages)
        cpu_after = cpu_seconds(sink_pid)
        parallel = parallel_baseline(port, messages, workers) if workers > 1 else None
        commit_ms = _durable_commit_ms(settings.effective_database_url)
    sink_ms = (
        (cpu_after - cpu_before) * 1000 / n
        if cpu_before is not None and cpu_after is not None
        else None
    )
    return BenchResult(
        digests=n,
        workers=workers,
        queue_seconds=queued,
        reports=reports,
        send_seconds=wall,
        baseline_seconds=baseline,
        message_bytes=size,
        baseline_bytes=sum(map(len, messages)) // n,
        sink_cpu_ms=sink_ms,
        sink=sink_name,
        backend=backend,
        worker_cpu_seconds=sum(d[4] for d in done),
        commit_ms=commit_ms,
        parallel_seconds=parallel,
    )

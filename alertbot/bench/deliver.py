"""``alertbot bench deliver``: render and send N digests to a local SMTP sink.

The sink is aiosmtpd's ``Sink`` handler in a subprocess (so it does not compete with the
worker for the GIL). The run goes through the real path: the sample dumps in a
temporary SQLite store, N subscribers with varied profiles, ``queue_due`` then
``send_due``. With ``workers`` > 1, that many processes run ``send_due`` on the same
outbox at once (as several dispatchers would), each with its own SMTP connection; the
outbox's claims keep them from sending a row twice. Their clock starts once all of
them have started (interpreter start-up is not delivery), and stops when the last ends.

The baseline, in the same run, is raw ``smtplib`` sending the exact bytes of one of the
digests N times over one connection: the cost of SMTP alone at this message size and
shape, which the digest rate is compared with. The sink is pure Python and shares the
machine's cores with the workers, so it is part of what is measured; its CPU time per
message is reported so that ceiling is visible.
"""

from __future__ import annotations

import multiprocessing
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine

from alertbot.config import DeliverySettings, Settings, SmtpSettings, SourceConfig
from alertbot.deliver.email import EmailChannel
from alertbot.deliver.queue import queue_due
from alertbot.deliver.worker import SendReport, send_due
from alertbot.model import EndpointKind, Profile
from alertbot.pipeline import fetch_sources
from alertbot.samples import sample_dump_paths
from alertbot.store import connect, migrate
from alertbot.store import subscribers as subscriber_store

SINK = "aiosmtpd.handlers.Sink"  # accepts and discards every message
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

    def rows(self) -> list[tuple[str, str]]:
        busy = sum(r.total_seconds for r in self.reports) or 1e-9
        render = sum(r.render_seconds for r in self.reports)
        send = sum(r.send_seconds for r in self.reports)
        sent = sum(r.counts().get("sent", 0) for r in self.reports)
        rate = sent / (self.send_seconds or 1e-9)
        raw = self.digests / (self.baseline_seconds or 1e-9)
        other = max(busy - render - send, 0.0)
        sink = f"{self.sink_cpu_ms:.2f} ms" if self.sink_cpu_ms is not None else "n/a"
        return [
            ("digests sent", f"{sent} of {self.digests}"),
            ("average message size", f"{self.message_bytes / 1000:.1f} kB"),
            ("baseline message size", f"{self.baseline_bytes / 1000:.1f} kB"),
            ("queue (match + build)", f"{self.queue_seconds:.2f} s"),
            ("send_due workers (processes, one SMTP connection each)", str(self.workers)),
            ("send_due wall clock", f"{self.send_seconds:.2f} s"),
            ("digests/s (render + send + outbox)", f"{rate:.0f}"),
            ("share render", f"{render / busy:.0%}"),
            ("share send (MIME + SMTP)", f"{send / busy:.0%}"),
            ("share outbox (database, re-match)", f"{other / busy:.0%}"),
            ("baseline: raw smtplib, same message, one connection, messages/s", f"{raw:.0f}"),
            ("sink CPU per baseline message", sink),
            ("digest rate / raw SMTP rate", f"{rate / raw:.2f}"),
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_sink() -> Iterator[tuple[int, int]]:
    """aiosmtpd's discarding sink in a subprocess; yields its port and pid."""
    import aiosmtpd  # noqa: F401 - fail early, with the module name, if it is missing

    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [*(sys.executable, "-m", "aiosmtpd", "-n"), "-l", f"127.0.0.1:{port}", "-c", SINK],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the aiosmtpd sink did not start") from None
                time.sleep(0.05)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
            subscriber_store.add_endpoint(
                conn, sub.id, EndpointKind.EMAIL, f"reader{i}@example.org", now=now
            )


def _baseline(port: int, n: int, message: bytes) -> float:
    """Seconds to send ``message`` ``n`` times over one connection with plain smtplib."""
    with smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=30) as smtp:
        options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
        started = time.perf_counter()
        for _ in range(n):
            smtp.sendmail("a@example.org", ["b@example.org"], message, mail_options=options)
        return time.perf_counter() - started


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drain(
    settings: Settings, now: datetime, worker_id: str, ready: Any, go: Any, results: Any
) -> None:
    """One worker process: wait for the start signal, then ``send_due`` until empty."""
    engine = connect(settings.effective_database_url)
    channel = EmailChannel(settings.smtp)
    ready.release()
    go.wait()
    try:
        report = send_due(
            engine,
            settings,
            now=lambda: now,
            channels={EndpointKind.EMAIL: channel},
            worker_id=worker_id,
        )
    finally:
        engine.dispose()
    # The wire bytes of one digest go back too: the baseline replays them.
    results.put((report, channel.last_message, channel.bytes_sent, channel.messages_sent))


def run_bench(n: int, *, workers: int = 1, now: datetime | None = None) -> BenchResult:
    """Build and send ``n`` digests with ``workers`` processes; measure where the time goes."""
    now = now or datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="alertbot-bench-") as tmp, smtp_sink() as sink:
        port, sink_pid = sink
        folder = Path(tmp)
        settings = Settings(
            data_dir=folder,
            database_url=f"sqlite:///{folder / 'bench.sqlite3'}",
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
        done, wall = _send_in_processes(settings, now, workers)
        reports = [report for report, *_ in done]
        sample = next((message for _, message, *_ in done if message), b"")
        size = sum(d[2] for d in done) // max(sum(d[3] for d in done), 1)
        cpu_before = _cpu_seconds(sink_pid)
        baseline = _baseline(port, n, sample)
        cpu_after = _cpu_seconds(sink_pid)
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
        baseline_bytes=len(sample),
        sink_cpu_ms=sink_ms,
    )


def _send_in_processes(
    settings: Settings, now: datetime, workers: int
) -> tuple[list[tuple[SendReport, bytes, int, int]], float]:
    context = multiprocessing.get_context("spawn")  # no inherited engine or sockets
    ready, go, results = context.Semaphore(0), context.Event(), context.Queue()
    procs = [
        context.Process(target=_drain, args=(settings, now, f"bench-{i}", ready, go, results))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            if not ready.acquire(timeout=60):
                raise RuntimeError("a bench worker did not start")
        started = time.perf_counter()
        go.set()
        done = [results.get(timeout=600) for _ in procs]
        wall = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.join(timeout=10)
    return done, wall

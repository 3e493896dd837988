"""``alertbot bench deliver``: render and send N digests to a local SMTP sink.

The sink is aiosmtpd's ``Sink`` handler in a subprocess (so it does not compete with the
worker for the GIL). The run goes through the real path: the sample dumps in a
temporary SQLite store, N subscribers with varied profiles, ``queue_due`` then
``send_due`` with the SMTP channel on one reused connection. The baseline, in the same
run, is raw ``smtplib`` sending one fixed message N times over one connection: the cost
of SMTP alone, which the digest rate is compared with.
"""

from __future__ import annotations

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
    queue_seconds: float
    report: SendReport
    baseline_seconds: float
    message_bytes: int

    def rows(self) -> list[tuple[str, str]]:
        r = self.report
        total = r.total_seconds or 1e-9
        rate = self.digests / total
        raw = self.digests / (self.baseline_seconds or 1e-9)
        other = max(total - r.render_seconds - r.send_seconds, 0.0)
        return [
            ("digests sent", f"{r.counts().get('sent', 0)} of {self.digests}"),
            ("average message size", f"{self.message_bytes / 1000:.1f} kB"),
            ("queue (match + build)", f"{self.queue_seconds:.2f} s"),
            ("send_due total", f"{total:.2f} s"),
            ("digests/s (render + send + outbox)", f"{rate:.0f}"),
            ("share render", f"{r.render_seconds / total:.0%}"),
            ("share send (MIME + SMTP)", f"{r.send_seconds / total:.0%}"),
            ("share outbox (database, re-match)", f"{other / total:.0%}"),
            ("baseline: raw smtplib, same size, messages/s", f"{raw:.0f}"),
            ("digest rate / raw SMTP rate", f"{rate / raw:.2f}"),
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_sink() -> Iterator[int]:
    """aiosmtpd's discarding sink in a subprocess; yields its port."""
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
        yield port
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


def _baseline(port: int, n: int, size: int) -> float:
    """Seconds to send ``n`` fixed messages of about ``size`` bytes over one connection."""
    message = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: baseline\r\n\r\n" + (
        b"x" * 76 + b"\r\n"
    ) * max(size // 78, 1)
    with smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=30) as smtp:
        started = time.perf_counter()
        for _ in range(n):
            smtp.sendmail("a@example.org", ["b@example.org"], message)
        return time.perf_counter() - started


def run_bench(n: int, *, now: datetime | None = None) -> BenchResult:
    """Build and send ``n`` digests; measure where the time goes."""
    now = now or datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="alertbot-bench-") as tmp, smtp_sink() as port:
        folder = Path(tmp)
        settings = Settings(
            data_dir=folder,
            database_url=f"sqlite:///{folder / 'bench.sqlite3'}",
            secret_key=SecretStr("bench-secret-key-not-for-production"),  # throwaway store
            sources=[
                SourceConfig(name=f"sample-{p.stem}", location=str(p)) for p in sample_dump_paths()
            ],
            smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"),
            delivery=DeliverySettings(batch_size=500),
        )
        engine = connect(settings.effective_database_url)
        try:
            migrate(engine)
            fetch_sources(engine, settings, now=lambda: now)
            _subscribe(engine, n, now)
            started = time.perf_counter()
            queue_due(engine, settings, now=now)
            queued = time.perf_counter() - started
            channel = EmailChannel(settings.smtp)
            report = send_due(
                engine,
                settings,
                now=lambda: now,
                channels={EndpointKind.EMAIL: channel},
                worker_id="bench",
            )
        finally:
            engine.dispose()
        size = channel.bytes_sent // max(channel.messages_sent, 1)
        baseline = _baseline(port, n, size)
    return BenchResult(
        digests=n,
        queue_seconds=queued,
        report=report,
        baseline_seconds=baseline,
        message_bytes=size,
    )

"""What the delivery fault tests share: readers due now, `alertbot send` as a real
process, the tally of who received what, and another process holding SQLite's lock.

The readers are due at the real clock (send time 00:00 UTC, queued now), because the
processes under test read the real clock: `alertbot send` queues nothing new for them
and sends what the test queued.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from alertbot.config import Settings
from alertbot.deliver import queue_due
from alertbot.model import EndpointKind, OutboxState, Profile
from alertbot.store import endpoints as endpoint_store
from alertbot.store import papers as paper_store
from alertbot.store import subscribers as subscriber_store
from alertbot.store.schema import endpoints, outbox
from tests.helpers import REPO
from tests.helpers.clock import due_a_minute_ago
from tests.helpers.delivery import make_papers

SECRET_KEY = "fault-test-secret-key-0123456789"


def readers_due_now(
    engine: Engine,
    settings: Settings,
    n: int,
    *,
    kind: EndpointKind = EndpointKind.EMAIL,
    address: Callable[[int], str] = lambda i: f"reader{i}@example.org",
    now: datetime | None = None,
) -> datetime:
    """``n`` readers whose digest (two diffusion papers) is queued ``now`` (default: the
    real clock's); returns that moment."""
    now = now or datetime.now(UTC)
    paper_store.upsert_papers(engine, make_papers(), source="test", now=now - timedelta(hours=1))
    for i in range(n):
        sub = subscriber_store.create_subscriber(
            engine,
            name=f"Reader {i}",
            now=now - timedelta(days=1),
            profile=Profile(interests=("diffusion",)),
            send_time=due_a_minute_ago(now),
        )
        endpoint_store.add_endpoint(engine, sub.id, kind, address(i), now=now)
    assert queue_due(engine, settings, now=now) == n
    return now


def write_config(
    path: Path,
    *,
    database_url: str,
    smtp: tuple[str, int] = ("127.0.0.1", 9),
    slack_url: str | None = None,
    **delivery: Any,
) -> Path:
    """An ``alertbot.toml`` for `alertbot send`: this store, this relay, these
    ``[delivery]`` settings (scaled down by each test)."""
    lines = [
        f'database_url = "{database_url}"',
        f'secret_key = "{SECRET_KEY}"',
        f'data_dir = "{path.parent / "data"}"',
        "[smtp]",
        f'host = "{smtp[0]}"',
        f"port = {smtp[1]}",
        'security = "none"',
        "timeout_seconds = 5",
        'from_address = "alertbot <digest@alertbot.example.org>"',
    ]
    if slack_url:
        lines += ["[slack]", 'bot_token = "xoxb-test"', f'api_url = "{slack_url}"']
    lines += ["[http]", "timeout_seconds = 2"]
    lines.append("[delivery]")
    lines += [f"{key} = {json.dumps(value)}" for key, value in delivery.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start_send(config: Path) -> subprocess.Popen[str]:
    """`alertbot send --config CONFIG` in a process of its own (stdout and stderr piped)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "alertbot", "send", "--config", str(config)],
        env=env,
        cwd=config.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill(process: subprocess.Popen[str], sig: signal.Signals = signal.SIGKILL) -> None:
    """Send ``sig`` and reap the process (a zombie would still look alive)."""
    if process.poll() is None:
        process.send_signal(sig)
    process.communicate(timeout=15)


def wait_until(predicate: Callable[[], object], *, timeout: float, poll: float = 0.005) -> bool:
    """Poll ``predicate`` until it is true; False if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return bool(predicate())


@dataclass(frozen=True)
class Tally:
    """Who received how many digests, against the state their outbox row ended in."""

    received: Counter[str]
    states: dict[str, OutboxState]

    @property
    def lost(self) -> list[str]:
        """Readers with nothing received and no ``unknown`` row saying it may have gone."""
        return [
            a for a, s in self.states.items() if self.received[a] == 0 and s != OutboxState.UNKNOWN
        ]

    @property
    def duplicates(self) -> list[str]:
        return [a for a, n in self.received.items() if n > 1]

    @property
    def unknown(self) -> list[str]:
        return [a for a, s in self.states.items() if s == OutboxState.UNKNOWN]

    def line(self) -> str:
        counts = Counter(str(s) for s in self.states.values())
        return (
            f"{len(self.states)} digests, rows {dict(sorted(counts.items()))}, "
            f"lost {len(self.lost)}, duplicates {len(self.duplicates)}, "
            f"unknown {len(self.unknown)} "
            f"({sum(self.received[a] for a in self.unknown)} of them had arrived)"
        )


def tally(engine: Engine, recipients: Iterable[str]) -> Tally:
    """Compare what arrived (one recipient per message) with the outbox rows."""
    with engine.connect() as conn:
        # Not the 'empty' rows of a next day's digest, queued if the test crosses midnight.
        rows = conn.execute(
            select(endpoints.c.address, outbox.c.state)
            .join(endpoints, endpoints.c.id == outbox.c.endpoint_id)
            .where(outbox.c.state != OutboxState.EMPTY)
        ).all()
    return Tally(Counter(recipients), {r.address: OutboxState(r.state) for r in rows})


# A child process that takes SQLite's write lock (writing 7 into lazy_probe), says so,
# and holds it for argv[2] s.
HOLDS_THE_WRITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO lazy_probe (n) VALUES (7)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def write_lock_held(sqlite_url: str, hold: float) -> subprocess.Popen[str]:
    """Another process holding the SQLite file's write lock for ``hold`` seconds, from
    the moment this returns; its write (7 into the table ``lazy_probe``) lands after."""
    path = sqlite_url.removeprefix("sqlite:///")
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDS_THE_WRITE_LOCK, path, str(hold)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "locked"
    return child

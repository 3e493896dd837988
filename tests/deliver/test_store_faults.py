"""The database failing just after the relay accepted a digest: never sent twice.

The relay's 250 has arrived; recording it fails because SQLite is locked by another
process for longer than ``busy_timeout``, or PostgreSQL has gone away. The worker keeps
trying for ``delivery.record_seconds``; if the database comes back in time the digest
is ``sent``, otherwise the worker stops and the row, once reclaimed, is ``unknown``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from alertbot.config import Settings
from alertbot.config_sections import DeliverySettings
from alertbot.deliver import send_due
from alertbot.store import connect, migrate
from tests.helpers.delivery import make_settings
from tests.helpers.faults import readers_due_now, tally
from tests.servers import SmtpSink, smtp_server, tcp_proxy

LOCKER = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("COMMIT")
    """
)


def _settings(tmp_path: Path, sink: SmtpSink, record_seconds: float) -> Settings:
    settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
    settings.delivery = DeliverySettings(backoff_base_seconds=0, record_seconds=record_seconds)
    return settings


def _at_first_dot(sink: SmtpSink, action: Any) -> None:
    fired = threading.Event()

    def on_data() -> None:
        if not fired.is_set():
            fired.set()
            action()

    sink.behaviour.on_data = on_data


def _recipients(sink: SmtpSink) -> list[str]:
    return [rcpt for _, rcpts in sink.envelopes for rcpt in rcpts]


@pytest.fixture
def worker_engine(sqlite_url: str) -> Iterator[Engine]:
    """The worker's engine on the test's SQLite file, waiting 0.2 s for a lock, not 10."""
    engine = connect(sqlite_url)
    event.listen(engine, "connect", _short_busy_timeout)  # after connect()'s own pragmas
    migrate(engine)
    yield engine
    engine.dispose()


def _short_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA busy_timeout=200")


def _lock_sqlite(path: str, seconds: float) -> subprocess.Popen[str]:
    """Another process takes the SQLite write lock and holds it for ``seconds``."""
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, path, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert locker.stdout is not None
    assert locker.stdout.readline().strip() == "locked"
    return locker


@pytest.mark.parametrize(
    ("hold", "record_seconds", "outcome"),
    [(1.0, 10.0, "sent"), (2.0, 0.5, "unknown")],
    ids=["lock-shorter-than-record-seconds", "lock-longer"],
)
def test_a_250_that_sqlite_is_too_locked_to_record_is_never_resent(
    tmp_path: Path,
    worker_engine: Engine,
    sqlite_url: str,
    hold: float,
    record_seconds: float,
    outcome: str,
) -> None:
    """SQLite locked by another process past busy_timeout right after the 250: recorded
    once the lock goes within ``record_seconds``, else the worker stops and the row ends
    ``unknown`` after reclaim; either way each reader gets the digest once."""
    lockers: list[subprocess.Popen[str]] = []
    database = make_url(sqlite_url).database
    assert database is not None
    with smtp_server() as sink:
        settings = _settings(tmp_path, sink, record_seconds)
        now = readers_due_now(worker_engine, settings, 3)
        _at_first_dot(sink, lambda: lockers.append(_lock_sqlite(database, hold)))
        if outcome == "sent":
            send_due(worker_engine, settings, now=lambda: now)
        else:
            with pytest.raises(OperationalError):
                send_due(worker_engine, settings, now=lambda: now)
        lockers[0].wait(timeout=10)
        later = now + timedelta(seconds=settings.delivery.lease_seconds + 60)
        send_due(worker_engine, settings, now=lambda: later)
        result = tally(worker_engine, _recipients(sink))
    print(f"\n[sqlite locked {hold} s, record_seconds {record_seconds}] {result.line()}")
    assert (result.lost, result.duplicates) == ([], [])
    assert result.states["reader0@example.org"] == outcome
    assert len(result.unknown) == (outcome == "unknown")


@pytest.mark.postgres
def test_a_250_recorded_after_postgresql_comes_back_is_sent_once(
    tmp_path: Path, postgres_url: str
) -> None:
    """PostgreSQL unreachable for a second right after the relay's 250 (every connection
    dropped, new ones refused): the worker records the digest once it is back and goes on;
    each reader gets exactly one digest."""
    url = make_url(postgres_url)
    assert url.host is not None
    assert url.port is not None
    setup = connect(postgres_url)
    migrate(setup)
    with tcp_proxy(url.host, url.port) as proxy, smtp_server() as sink:
        engine = connect(url.set(host=proxy.host, port=proxy.port).render_as_string(False))
        settings = _settings(tmp_path, sink, 10.0)
        now = readers_due_now(setup, settings, 3)

        def outage() -> None:
            proxy.cut()
            threading.Timer(1.0, proxy.restore).start()

        _at_first_dot(sink, outage)
        report = send_due(engine, settings, now=lambda: now)
        later = now + timedelta(seconds=settings.delivery.lease_seconds + 60)
        send_due(engine, settings, now=lambda: later)
        result = tally(setup, _recipients(sink))
        engine.dispose()
    setup.dispose()
    print(f"\n[postgresql gone 1 s after a 250] {result.line()}")
    assert report.counts() == {"sent": 3}
    assert (result.lost, result.duplicates, result.unknown) == ([], [], [])

"""Lazy commits: committed and kept like any other, only not waited for on the disk; and
the send loop's writers taking turns at SQLite's write lock."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from alertbot.store.db import connect, lazy_transaction, turn_transaction
from tests.helpers.faults import write_lock_held

# A child process that commits lazily, then dies at once with no chance to flush anything.
KILLED_AFTER_LAZY_COMMIT = """
import os, signal, sys
from sqlalchemy import text
from alertbot.store.db import connect, lazy_transaction
engine = connect(sys.argv[1])
with lazy_transaction(engine) as conn:
    conn.execute(text("INSERT INTO lazy_probe (n) VALUES (42)"))
os.kill(os.getpid(), signal.SIGKILL)
"""


def _probe(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE lazy_probe (n INTEGER)"))


def _numbers(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT n FROM lazy_probe ORDER BY n")).scalars())


def _waits_for_disk(conn: Connection) -> bool:
    if conn.dialect.name == "sqlite":
        return bool(conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2)  # FULL
    return bool(conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on")


def test_a_lazy_commit_is_seen_by_other_connections_at_once(engine: Engine) -> None:
    """Once the block ends the row is committed: another connection reads it."""
    _probe(engine)
    with lazy_transaction(engine) as conn:
        conn.execute(text("INSERT INTO lazy_probe (n) VALUES (1)"))
        assert not _waits_for_disk(conn)
    assert _numbers(engine) == [1]


def test_the_connection_waits_for_the_disk_again_after_a_lazy_commit(engine: Engine) -> None:
    """The pooled connection that served a lazy commit is durable for the next writer."""
    _probe(engine)
    with lazy_transaction(engine) as conn:
        conn.execute(text("INSERT INTO lazy_probe (n) VALUES (1)"))
        used = conn.connection.driver_connection
    with engine.connect() as conn:
        assert conn.connection.driver_connection is used
        assert _waits_for_disk(conn)


def test_a_failed_lazy_transaction_writes_nothing(engine: Engine) -> None:
    """An error inside the block rolls it back; the connection is durable again."""
    _probe(engine)

    def fail_inside() -> None:
        with lazy_transaction(engine) as conn:
            conn.execute(text("INSERT INTO lazy_probe (n) VALUES (1)"))
            raise RuntimeError("the caller failed")

    with pytest.raises(RuntimeError):
        fail_inside()
    assert _numbers(engine) == []
    with engine.connect() as conn:
        assert _waits_for_disk(conn)


def test_a_lazy_commit_survives_its_process_being_killed(engine: Engine, db_url: str) -> None:
    """SIGKILL straight after a lazy commit loses nothing: only a power cut could."""
    _probe(engine)
    child = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_LAZY_COMMIT, db_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -9, child.stderr
    assert _numbers(engine) == [42]


def test_inside_a_callers_transaction_the_caller_decides(engine: Engine) -> None:
    """Given a Connection, lazy_transaction neither commits nor changes its settings."""
    _probe(engine)
    with engine.begin() as outer:
        with lazy_transaction(outer) as conn:
            conn.execute(text("INSERT INTO lazy_probe (n) VALUES (1)"))
        assert _waits_for_disk(outer)
        outer.rollback()
    assert _numbers(engine) == []


def test_a_writer_waits_for_another_processs_lock_then_writes(sqlite_url: str) -> None:
    """The send loop's writes take their turn: a lock held for 0.3 s is waited out, the
    write lands after the other process's, and the connection's busy_timeout is its own
    again afterwards (the polling sets it to 0 while it polls)."""
    engine = connect(sqlite_url, busy_timeout=10)
    try:
        _probe(engine)
        child = write_lock_held(sqlite_url, 0.3)
        with turn_transaction(engine) as conn:
            conn.execute(text("INSERT INTO lazy_probe (n) VALUES (8)"))
        assert child.wait(timeout=30) == 0
        assert _numbers(engine) == [7, 8]
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        engine.dispose()


def test_a_lock_held_past_busy_timeout_raises_sqlalchemys_locked_error(sqlite_url: str) -> None:
    """Past the connection's busy_timeout the writer gives up with the "database is
    locked" OperationalError callers retry on (SQLAlchemy's, not the driver's), having
    written nothing, and its connection is usable once the lock is gone."""
    engine = connect(sqlite_url, busy_timeout=0.2)
    try:
        _probe(engine)
        child = write_lock_held(sqlite_url, 2)
        with pytest.raises(OperationalError, match="locked"), turn_transaction(engine) as conn:
            conn.execute(text("INSERT INTO lazy_probe (n) VALUES (8)"))
        assert child.wait(timeout=30) == 0
        with turn_transaction(engine) as conn:
            conn.execute(text("INSERT INTO lazy_probe (n) VALUES (9)"))
        assert _numbers(engine) == [7, 9]
    finally:
        engine.dispose()

"""The send loop's kept connection on SQLite (``HotConnection.turn``): its write
transactions run by the driver, yet locked, committed and failing as SQLAlchemy's do,
and the connection given back to the pool as the pool lent it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from alertbot.store.db import begin_immediate, connect
from alertbot.store.prepared import HotConnection, Prepared
from tests.helpers.faults import write_lock_held

INSERT = Prepared(text("INSERT INTO lazy_probe (n) VALUES (:n)"))


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = connect(sqlite_url, busy_timeout=0.3)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE lazy_probe (n INTEGER UNIQUE)"))
    yield engine
    engine.dispose()


def _numbers(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT n FROM lazy_probe ORDER BY n")).scalars())


def _write(hot: HotConnection, *numbers: int) -> None:
    with hot.turn() as turn:
        for n in numbers:
            INSERT.run(turn, {"n": n})


def test_turns_commit_on_one_kept_connection_waiting_for_the_disk(engine: Engine) -> None:
    """Each turn is committed as it ends, seen by other connections at once, on the one
    connection kept across turns, whose commits wait for the disk (synchronous FULL)."""
    hot = HotConnection(engine, idle_seconds=60)
    try:
        _write(hot, 1)
        assert _numbers(engine) == [1]
        with hot.turn() as turn:
            INSERT.run(turn, {"n": 2})
            INSERT.run(turn, {"n": 3})
            raw = turn.raw
            assert raw.execute("PRAGMA synchronous").fetchone() == (2,)
        with hot.turn() as turn:
            assert turn.raw is raw
        assert _numbers(engine) == [1, 2, 3]
    finally:
        hot.close()


def test_a_failed_statement_raises_sqlalchemys_error_and_undoes_the_turn(engine: Engine) -> None:
    """A constraint broken halfway: SQLAlchemy's IntegrityError (the driver's inside it),
    none of the turn's writes kept, and the next turn writes as usual."""
    hot = HotConnection(engine, idle_seconds=60)
    try:
        _write(hot, 1)
        with pytest.raises(IntegrityError, match="UNIQUE"):
            _write(hot, 2, 1)
        assert _numbers(engine) == [1]
        _write(hot, 2)
        assert _numbers(engine) == [1, 2]
    finally:
        hot.close()


def test_a_turn_waits_out_another_processs_lock_then_writes(
    engine: Engine, sqlite_url: str
) -> None:
    """Another process holds the write lock for 0.15 s, within busy_timeout (0.3 s): the
    turn takes the lock after it, and its write lands after the other's."""
    hot = HotConnection(engine, idle_seconds=60)
    try:
        _write(hot, 1)
        child = write_lock_held(sqlite_url, 0.15)
        _write(hot, 8)
        assert child.wait(timeout=30) == 0
        assert _numbers(engine) == [1, 7, 8]
    finally:
        hot.close()


def test_a_lock_held_past_busy_timeout_raises_sqlalchemys_locked_error(
    engine: Engine, sqlite_url: str
) -> None:
    """Past busy_timeout the turn gives up with the "database is locked"
    OperationalError the send loop retries on, having written nothing; once the lock is
    gone the next turn writes."""
    hot = HotConnection(engine, idle_seconds=60)
    try:
        child = write_lock_held(sqlite_url, 1.5)
        with pytest.raises(OperationalError, match="locked"):
            _write(hot, 8)
        assert child.wait(timeout=30) == 0
        _write(hot, 9)
        assert _numbers(engine) == [7, 9]
    finally:
        hot.close()


def test_given_back_the_connection_has_its_busy_timeout_again(engine: Engine) -> None:
    """While kept, the lock is polled with busy_timeout 0; closed (or idle), the
    connection goes back to the pool with its own busy_timeout, for other writers."""
    hot = HotConnection(engine, idle_seconds=60)
    with hot.turn() as turn:
        raw = turn.raw
        assert raw.execute("PRAGMA busy_timeout").fetchone() == (0,)
    hot.close()
    with engine.connect() as conn:
        assert conn.connection.driver_connection is raw  # the pool's one idle connection
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 300


def test_the_last_try_for_the_lock_leaves_sqlalchemy_outside_any_transaction(
    engine: Engine,
) -> None:
    """The lock taken at the last try (here the only one: no time to poll) is taken on
    the driver, as every poll is: SQLAlchemy's connection, kept by the send loop, is
    not left believing a transaction of its own is open."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        begin_immediate(raw, busy_ms=0)
        assert raw.in_transaction
        assert not conn.in_transaction()
        raw.rollback()


def test_a_refusal_other_than_the_lock_is_sqlalchemys_error_at_once(sqlite_url: str) -> None:
    """Only the lock is waited for: a connection that cannot begin at all (closed here)
    gets SQLAlchemy's error at the first refusal, not after the whole timeout."""
    raw = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    raw.close()
    started = time.monotonic()
    with pytest.raises(ProgrammingError, match="closed"):
        begin_immediate(raw, busy_ms=5000)
    assert time.monotonic() - started < 2.5

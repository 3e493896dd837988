"""Engines and migrations: the one place that opens the database."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    Text,
    any_,
    bindparam,
    create_engine,
    event,
    false,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry

from alertbot.private import create_private_file, make_private_dir
from alertbot.store import migrations
from alertbot.store.locks import Lock


def connect(
    url: str,
    *,
    busy_timeout: float = 10.0,
    ping_idle_seconds: float | None = None,
    **engine_options: Any,
) -> Engine:
    """An engine for ``url``: SQLite (file created, WAL) or PostgreSQL (psycopg 3).

    ``postgresql://`` URLs are routed to psycopg 3, the driver alertbot ships with. A new
    SQLite file is created 0600 (in folders created 0700) before SQLite opens it: SQLite
    gives its ``-wal`` and ``-shm`` files the mode of the database file, so they are
    private too.
    ``busy_timeout``: how many seconds an SQLite statement waits for another process's
    lock before failing with "database is locked".
    ``ping_idle_seconds``: how long a PostgreSQL connection may sit in the pool before it
    is pinged on checkout (default ``PING_IDLE_SECONDS``).
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            make_private_dir(Path(parsed.database).parent)
            create_private_file(Path(parsed.database))
        engine = create_engine(parsed, **engine_options)
        event.listen(engine, "connect", partial(_sqlite_pragmas, busy_ms=int(busy_timeout * 1000)))
        return engine
    engine = create_engine(parsed, **engine_options)
    _ping_when_idle(engine, PING_IDLE_SECONDS if ping_idle_seconds is None else ping_idle_seconds)
    return engine


# A pooled PostgreSQL connection back in the pool for longer than this is pinged before
# it is handed out again. SQLAlchemy's pool_pre_ping pings every checkout: one round trip
# more for each of the send loop's two writes per message (a third of a digest's round
# trips on PostgreSQL), for a connection the loop gave back a millisecond earlier. What a
# ping guards against, a server restart or an idle timeout while the connection sat in
# the pool, is as likely in the millisecond between a ping and its statement as in the
# millisecond since the loop's last one; a connection that dies like that fails its
# statement, and the pool then replaces every connection opened before the failure.
PING_IDLE_SECONDS = 1.0
_CHECKED_IN = "alertbot_checked_in"  # monotonic time the connection went back to the pool


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    dialect = engine.dialect

    def checkin(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    def checkout(dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        checked_in = record.info.pop(_CHECKED_IN, None)
        if checked_in is None or time.monotonic() - checked_in < idle_seconds:
            return  # new, or back in the pool only just now
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out another (pool events).
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any, *, busy_ms: int) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the web app read while a fetch or the outbox worker writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    # Every commit waits for the disk unless it asks not to (lazy_transaction): the
    # delivery guarantees rest on the hand-over record surviving a power loss.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
    cursor.close()


def migrate(engine: Engine) -> list[str]:
    """Bring the schema up to date; returns the migrations applied (empty if none).

    All pending migrations run in one transaction: a failure applies none of them.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                return migrations.upgrade(conn)
        # pysqlite commits before every DDL statement, so CREATE/ALTER would escape the
        # transaction. Driving the transaction ourselves makes it whole; IMMEDIATE also
        # makes a second process that starts at the same moment wait instead of racing.
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection)
        previous = raw.isolation_level
        raw.isolation_level = None
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            applied = migrations.upgrade(conn)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            raw.isolation_level = previous
        return applied


Db = Engine | Connection


@contextmanager
def transaction(db: Db) -> Iterator[Connection]:
    """A connection inside a transaction.

    Query functions accept either an ``Engine`` (they then run in a transaction of their
    own) or a ``Connection`` (the caller owns the transaction, so several calls commit
    or roll back together).
    """
    if isinstance(db, Connection):
        yield db
    else:
        with db.begin() as conn:
            yield conn


def serialise_writers(conn: Connection, table: Table, lock_class: Lock) -> None:
    """Make the rest of ``conn``'s transaction wait for, then exclude, every other
    transaction that calls this with the same ``table`` and ``lock_class``: for a read
    whose result decides a write (what is already stored, say).

    SQLite: the write lock, taken now (:func:`begin_write`), which excludes every other
    writer. PostgreSQL: a transaction-scoped advisory lock, keyed by the schema so test
    schemas on one server do not share it; it excludes only the callers of this.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), :cls)"),
            {"cls": int(lock_class)},
        )
        return
    begin_write(conn, table)


def begin_write(conn: Connection, table: Table) -> None:
    """On SQLite, begin ``conn``'s transaction now, holding the write lock; elsewhere
    nothing.

    The driver begins a transaction only at the first INSERT, UPDATE or DELETE, so until
    then each read runs on its own, unlocked (another process can commit between it and
    the write it decides), and a SAVEPOINT is not nested but begins a transaction of its
    own that its RELEASE commits, whatever the caller's transaction does later. A write
    that changes nothing (``UPDATE table SET id = id WHERE 0``) begins it, waiting for
    the lock as every statement does (``busy_timeout``).
    """
    if conn.dialect.name != "sqlite":
        return
    key = next(iter(table.primary_key.columns))
    conn.execute(update(table).where(false()).values({key.name: key}))


@contextmanager
def lazy_transaction(db: Db) -> Iterator[Connection]:
    """A transaction whose commit does not wait for the disk to confirm the write.

    Once it returns the change is committed, seen by every other connection and kept if
    the process is killed; only a power loss or an OS crash before the next durable
    commit can undo it. Both SQLite's and PostgreSQL's write-ahead logs are written in
    order, so the next ordinary (durable) commit to the same database makes this one
    durable too. For writes whose loss on power failure is harmless as long as they
    reach the disk before some later write does (an attempt's steps, see
    :mod:`alertbot.store.attempts`); a wait for the disk costs milliseconds, the write
    itself microseconds. Given a ``Connection``, the caller's transaction decides.
    On SQLite the write lock is taken as :func:`turn_transaction` takes it.
    """
    with turn_transaction(db, wait_for_disk=False) as conn:
        yield conn


@contextmanager
def turn_transaction(db: Db, *, wait_for_disk: bool = True) -> Iterator[Connection]:
    """A write transaction for a hot path that several processes share (the send loop).

    On SQLite the write lock is taken up front (``BEGIN IMMEDIATE``), polled every 0.1 to
    2 ms until the connection's ``busy_timeout``: SQLite's own wait sleeps 1, 2, 5, 10 ms
    in turn, so two workers each holding the lock for an fsync (3-7 ms) lost more time
    asleep than writing, and two sent fewer digests a second than one. The polls go to
    the driver's connection: each refusal through SQLAlchemy built and wrapped an
    exception, and with two workers that doubled their CPU a digest (2.2 to 3.9 ms;
    ``bench deliver`` 300 to 550 digests/s once polled on the driver). On timeout the
    usual "database is locked" error is raised, SQLAlchemy's. ``wait_for_disk=False``: a lazy commit
    (:func:`lazy_transaction`). Given a ``Connection``, the caller's transaction decides.
    """
    if isinstance(db, Connection):
        yield db
        return
    with db.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                if not wait_for_disk:
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield conn
            return
        # SQLite takes the setting per connection, outside a transaction: NORMAL for this
        # one (in WAL mode: no sync at commit), back to FULL before the pool reuses it.
        raw = conn.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        if not wait_for_disk:
            raw.execute("PRAGMA synchronous=NORMAL")
        try:
            with conn.begin():
                begin_immediate(raw)
                yield conn
        finally:
            try:
                if raw.in_transaction:  # a commit that failed (locked) and was not undone
                    raw.rollback()
                if not wait_for_disk:
                    raw.execute("PRAGMA synchronous=FULL")
            except sqlite3.Error:
                conn.invalidate()  # discarded: never handed to a durable write


def begin_immediate(raw: sqlite3.Connection, busy_ms: int | None = None) -> None:
    """``BEGIN IMMEDIATE`` on ``raw`` (the driver's connection), polled as
    :func:`turn_transaction` says until ``busy_ms`` (default: the connection's
    ``busy_timeout``, which is set to 0 meanwhile). A caller that gives ``busy_ms`` has
    already set ``busy_timeout`` to 0 itself (a connection the send loop keeps: three
    fewer statements a message). Refused past the timeout, it raises SQLAlchemy's error
    (``OperationalError``, "database is locked", the one callers retry on)."""
    keep = busy_ms is not None
    if busy_ms is None:
        (busy_ms,) = raw.execute("PRAGMA busy_timeout").fetchone()
        raw.execute("PRAGMA busy_timeout=0")
    deadline = time.monotonic() + busy_ms / 1000
    pause = 0.0001
    try:
        # Tried at least once, and once more after the deadline's pause: every try on the
        # driver's connection, cheap to refuse (see turn_transaction), and none through
        # SQLAlchemy's, which a success would leave believing a transaction of its own
        # was open, on a connection the send loop keeps.
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.Error as exc:
                # Only the lock is waited for; any other refusal is SQLAlchemy's at once.
                locked = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
                if not locked or time.monotonic() >= deadline:
                    raise driver_error("BEGIN IMMEDIATE", exc) from exc
            time.sleep(pause)
            pause = min(pause * 2, 0.002)
    finally:
        if not keep:
            raw.execute(f"PRAGMA busy_timeout={int(busy_ms):d}")


def driver_error(sql: str, exc: sqlite3.Error, params: Any = None) -> BaseException:
    """A ``sqlite3`` error as SQLAlchemy raises it (``DBAPIError.instance``: "database is
    locked" is its ``OperationalError``), for statements run on the driver directly."""
    return DBAPIError.instance(sql, params, exc, sqlite3.Error, hide_parameters=True)


def among(conn: Connection, column: ColumnElement[Any], values: Iterable[Any]) -> Any:
    """``column IN (values)`` with the values as one parameter, however many: an array
    on PostgreSQL (``= ANY``), a JSON array read by ``json_each`` on SQLite.

    SQLAlchemy's expanding ``IN`` renders a placeholder per value; at the tens of
    thousands of ids a dispatcher tick asks about, compiling them cost more than running
    the statement (cProfile of ``alertbot bench tick`` at 100,000 readers: 3.4 s of 48),
    and SQLite caps a statement at 32,766 parameters.
    """
    items = list(values)
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, items, type_=ARRAY(column.type)))
    rows = func.json_each(bindparam(None, json.dumps(items), type_=Text)).table_valued("value")
    return column.in_(select(rows.c.value))

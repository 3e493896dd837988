"""Hot statements compiled once per dialect and run with ``exec_driver_sql``: the send
loop's one-row writes (``alertbot/store/attempts.py``, ``alertbot/store/marks.py``), and
the connection it keeps for them (:class:`HotConnection`): autocommit statements on
PostgreSQL, write transactions on the driver's connection on SQLite (:class:`RawTurn`)."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import Executable

from alertbot.store.db import (
    PING_IDLE_SECONDS,
    Db,
    begin_immediate,
    driver_error,
    turn_transaction,
)


class Prepared:
    """A hot statement compiled once per dialect and run with ``exec_driver_sql``.

    SQLAlchemy's compiled cache still looks the statement up, builds its parameters and
    an execution context for every run: for these one-row writes, twice what the
    database spends on them. Compiled here once (by the same compiler, so the SQL is
    what ``conn.execute`` would send), each run only converts the values that change
    with the column types' own bind processors; errors still come as SQLAlchemy's.
    """

    def __init__(self, stmt: Executable) -> None:
        self._stmt = stmt
        self._by_dialect: dict[str, _Compiled] = {}

    def run(self, conn: Connection | RawTurn, params: dict[str, Any]) -> Any:
        compiled = self._by_dialect.get(conn.dialect.name)
        if compiled is None:
            compiled = self._by_dialect[conn.dialect.name] = _Compiled(self._stmt, conn.dialect)
        if isinstance(conn, RawTurn):
            return conn.execute(compiled.sql, compiled.bind(params))
        return conn.exec_driver_sql(compiled.sql, compiled.bind(params))


class _Compiled:
    def __init__(self, stmt: Executable, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        # The constants the statement carries (states, phases, literals), converted once.
        processors = {
            name: bind.type.bind_processor(dialect) for name, bind in compiled.binds.items()
        }
        self._processors = {name: p for name, p in processors.items() if p is not None}
        # Those without a value (``bindparam("b_id")``, an INSERT's columns) come per run.
        self._constants = {
            name: self._convert(name, value)
            for name, value in compiled.params.items()
            if not compiled.binds[name].required
        }
        self._order: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if dialect.positional else None
        )

    def _convert(self, name: str, value: Any) -> Any:
        processor = self._processors.get(name)
        return processor(value) if processor is not None and value is not None else value

    def bind(self, params: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        values = dict(self._constants)
        for name, value in params.items():
            values[name] = self._convert(name, value)
        if self._order is None:
            return values
        return tuple(values[name] for name in self._order)


class RawTurn:
    """An SQLite write transaction on the driver's connection, for :class:`Prepared`
    statements: the SQL SQLAlchemy compiled, run by ``sqlite3`` itself.

    Through SQLAlchemy the send loop's write (checkout, four statements, commit, checkin)
    cost 0.66 ms of CPU a message, a third of a digest's, of which the fsync was about
    0.1 ms; run here, 0.40 ms (one worker in process on ``bench deliver``'s digests,
    thread CPU per stage). Errors
    still come as SQLAlchemy's (``DBAPIError.instance``: "database is locked" is its
    ``OperationalError``), which is what callers retry on.
    """

    def __init__(self, dialect: Dialect, raw: sqlite3.Connection) -> None:
        self.dialect = dialect
        self.raw = raw

    def execute(self, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> sqlite3.Cursor:
        try:
            return self.raw.execute(sql, params)
        except sqlite3.Error as exc:
            raise driver_error(sql, exc, params) from exc

    def commit(self) -> None:
        try:
            self.raw.commit()
        except sqlite3.Error as exc:
            raise driver_error("COMMIT", exc) from exc


class HotConnection:
    """One connection kept for a send loop's writes: on PostgreSQL its one-statement
    writes in autocommit (:meth:`run`; the hand-over, one a message), on
    SQLite its write transactions on the driver's connection (:meth:`turn`).

    Checking a pooled connection out, switching it to autocommit and giving it back cost
    more client CPU than the statement (50-90 us of the 180 measured per statement);
    kept, each write is the statement alone. It is given back to the pool once it has sat
    unused for ``idle_seconds`` (between batches, say), so the pool's ping on checkout
    covers it as before (``alertbot.store.db.PING_IDLE_SECONDS``). Any failure closes it,
    so the next write (a retry while the server restarts) checks out a fresh one from
    the pool, which has by then dropped the dead ones.
    """

    def __init__(self, engine: Engine, *, idle_seconds: float = PING_IDLE_SECONDS) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self._conn: Connection | None = None
        self._used = 0.0
        self._busy_ms = 0  # SQLite: the kept connection's busy_timeout, 0 while kept

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def run(self, prepared: Prepared, params: dict[str, Any]) -> Any:
        """One statement in autocommit (PostgreSQL)."""
        conn = self._checkout()
        try:
            return prepared.run(conn, params)
        except BaseException:
            self.close()
            raise
        finally:
            self._used = time.monotonic()

    @contextlib.contextmanager
    def turn(self) -> Iterator[RawTurn]:
        """A durable write transaction (SQLite), its write lock taken up front and polled
        as :func:`alertbot.store.db.turn_transaction` polls it; committed on exit."""
        conn = self._checkout()
        raw = conn.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        turn = RawTurn(conn.dialect, raw)
        try:
            begin_immediate(raw, self._busy_ms)
            yield turn
            turn.commit()
        except BaseException:
            self.close()
            raise
        finally:
            self._used = time.monotonic()

    def _checkout(self) -> Connection:
        if self._conn is not None and time.monotonic() - self._used >= self.idle_seconds:
            self.close()
        if self._conn is not None:
            return self._conn
        fresh = self.engine.connect()
        if self.is_postgresql:
            self._conn = fresh.execution_options(isolation_level="AUTOCOMMIT")
            return self._conn
        raw = fresh.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        try:
            # Polled by begin_immediate while kept; given back as the pool lent it.
            (self._busy_ms,) = raw.execute("PRAGMA busy_timeout").fetchone()
            raw.execute("PRAGMA busy_timeout=0")
        except sqlite3.Error as exc:
            fresh.invalidate()
            fresh.close()
            raise driver_error("PRAGMA busy_timeout", exc) from exc
        self._conn = fresh
        return fresh

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if not self.is_postgresql:
            try:
                raw = conn.connection.driver_connection
                assert isinstance(raw, sqlite3.Connection)
                if raw.in_transaction:
                    raw.rollback()
                raw.execute(f"PRAGMA busy_timeout={int(self._busy_ms):d}")
            except (sqlite3.Error, SQLAlchemyError):
                conn.invalidate()  # discarded: never lent again without its busy_timeout
        with contextlib.suppress(SQLAlchemyError):
            conn.close()


def on_postgresql(db: Db | HotConnection) -> bool:
    if isinstance(db, HotConnection):
        return db.is_postgresql
    return isinstance(db, Engine) and db.dialect.name == "postgresql"


def send_turn(db: Db | HotConnection) -> AbstractContextManager[Connection | RawTurn]:
    """The send loop's durable write on SQLite: on its kept connection, run by the driver
    (:class:`RawTurn`), or in a :func:`~alertbot.store.db.turn_transaction` of its own."""
    return db.turn() if isinstance(db, HotConnection) else turn_transaction(db)

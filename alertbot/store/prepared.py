"""Hot statements compiled once per dialect and run with ``exec_driver_sql``: the send
loop's one-row writes (``alertbot/store/attempts.py``, ``alertbot/store/marks.py``), and
on PostgreSQL the connection they run on (:class:`HotConnection`)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import Executable

from alertbot.store.db import PING_IDLE_SECONDS


class Prepared:
    """A hot statement compiled once per dialect and run with ``exec_driver_sql``.

    SQLAlchemy's compiled cache still looks the statement up, builds its parameters and
    an execution context for every run: for these one-row writes, twice what the
    database spends on them. Compiled here once (by the same compiler, so the SQL is
    what ``conn.execute`` would send), each run only converts the values that change
    with the column types' own bind processors; errors still come as SQLAlchemy's.
    ``keys``: the columns an INSERT is given (they decide its column list).
    """

    def __init__(self, stmt: Executable, keys: Sequence[str] | None = None) -> None:
        self._stmt = stmt
        self._keys = keys
        self._by_dialect: dict[str, _Compiled] = {}

    def run(self, conn: Connection, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
        compiled = self._by_dialect.get(conn.dialect.name)
        if compiled is None:
            compiled = self._by_dialect[conn.dialect.name] = _Compiled(
                self._stmt, conn.dialect, self._keys
            )
        if isinstance(params, list):
            return conn.exec_driver_sql(compiled.sql, [compiled.bind(p) for p in params])
        return conn.exec_driver_sql(compiled.sql, compiled.bind(params))


class _Compiled:
    def __init__(self, stmt: Executable, dialect: Dialect, keys: Sequence[str] | None) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=keys)  # type: ignore[attr-defined]
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


class HotConnection:
    """One autocommit connection kept for a send loop's one-statement writes on
    PostgreSQL (the hand-over and ``complete``, two a message).

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

    def run(self, prepared: Prepared, params: dict[str, Any]) -> Any:
        if self._conn is not None and time.monotonic() - self._used >= self.idle_seconds:
            self.close()
        conn = self._conn
        if conn is None:
            fresh = self.engine.connect()
            conn = self._conn = fresh.execution_options(isolation_level="AUTOCOMMIT")
        try:
            return prepared.run(conn, params)
        except BaseException:
            self.close()
            raise
        finally:
            self._used = time.monotonic()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()

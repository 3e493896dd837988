"""Hot statements compiled once per dialect and run with ``exec_driver_sql``: the send
loop's one-row writes (``alertbot/store/attempts.py``, ``alertbot/store/marks.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable


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

"""The stores the ``engine`` fixtures hand out, each as ``migrate`` leaves a new one,
without running every migration for every test: a copy of a SQLite file migrated once
(:func:`copied`), a PostgreSQL schema migrated once and emptied after each test
(:class:`Schemas`)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from alertbot.store import connect, migrate


@contextlib.contextmanager
def copied(template: Path, url: str) -> Iterator[None]:
    """The store at ``url`` (a SQLite file not yet there) as a copy of ``template``,
    private as ``connect`` creates a store (0600)."""
    path = Path(url.removeprefix("sqlite:///"))
    if not path.exists() and not template.with_name(template.name + "-wal").exists():
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(template.read_bytes())
    yield


class Schemas:
    """Migrated PostgreSQL schemas of this test process, emptied after a test and reused.

    A test's schema (``postgres_url``) is swapped for one an earlier test migrated and
    left empty: in one transaction the empty one is dropped and the migrated one renamed
    to its name (catalog updates, a few milliseconds). After the test its tables are
    emptied (``TRUNCATE ... RESTART IDENTITY``: ids start at 1 again) and the schema goes
    back into the pool under another name. It is not reused, and ``postgres_url`` drops
    it, when its relations, columns, indexes, constraints, triggers or migration version
    differ from a freshly migrated schema's (a test changed the schema), when it holds
    planner statistics (a test ran ANALYZE: the next one would plan with them), or when
    it cannot be emptied within two seconds (a connection left holding a lock). The pool
    is dropped when the test process ends (:meth:`drop_all`); pools of test processes
    that died are dropped at the next start.
    """

    def __init__(self) -> None:
        self.free: list[str] = []
        self.fresh: _Shape | None = None  # a schema's just after every migration ran
        self.prefix = f"pool_{os.getpid()}_"
        # One engine on the server for every swap, emptying and drop of this process:
        # an engine and its connection made per test cost about 10 ms each.
        self._admin: Engine | None = None
        self._server = ""  # the URL _admin was made for, without the schema's options

    def _admin_for(self, url: str) -> Engine:
        server = url.partition("?")[0]
        if self._admin is None or self._server != server:
            if self._admin is not None:
                self._admin.dispose()
            self._admin, self._server = connect(server), server
        return self._admin

    @contextlib.contextmanager
    def reused(self, url: str) -> Iterator[None]:
        schema = url.rpartition("search_path%3D")[2]
        admin = self._admin_for(url)
        with admin.begin() as conn:
            if self.free:
                conn.execute(text(f'DROP SCHEMA "{schema}"'))
                conn.execute(text(f'ALTER SCHEMA "{self.free.pop()}" RENAME TO "{schema}"'))
            elif self.fresh is None:
                _drop_dead_pools(conn)
        if self.fresh is None:
            migrated = connect(url)
            migrate(migrated)
            migrated.dispose()
            with admin.connect() as conn:
                self.fresh = _shape(conn, schema)
        yield
        self._put_back(admin, schema)

    def _put_back(self, admin: Engine, schema: str) -> None:
        assert self.fresh is not None
        tables = {name for name, kind in self.fresh["relations"] if kind == "r"}
        tables.discard("alembic_version")
        emptied = ", ".join(f'"{schema}"."{t}"' for t in sorted(tables))
        pooled = f"{self.prefix}{uuid.uuid4().hex[:12]}"
        try:
            with admin.begin() as conn:
                if _shape(conn, schema) != self.fresh or _has_statistics(conn, schema):
                    return
                conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                conn.execute(text(f"TRUNCATE {emptied} RESTART IDENTITY CASCADE"))
                conn.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{pooled}"'))
        except DBAPIError:
            return  # left to postgres_url, which drops it
        self.free.append(pooled)

    def drop_all(self) -> None:
        """Drop the pool (at the end of the test process)."""
        admin, self._admin = self._admin, None
        if admin is None:
            return
        try:
            with admin.begin() as conn:
                for schema in self.free:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            self.free.clear()
        finally:
            admin.dispose()


# The test process's pool: the engine fixture's (tests/conftest.py).
SCHEMAS = Schemas()


def _drop_dead_pools(conn: Connection) -> None:
    """Drop the pools of test processes that are gone (killed before they could)."""
    names = conn.execute(
        text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pool\\_%'")
    ).scalars()
    for name in list(names):
        pid = name.split("_")[1]
        if pid.isdigit() and not _alive(int(pid)):
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _has_statistics(conn: Connection, schema: str) -> bool:
    """Whether ANALYZE left planner statistics on any of the schema's tables."""
    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_statistic s"
                " JOIN pg_class c ON c.oid = s.starelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema)"
            ),
            {"schema": schema},
        ).scalar_one()
    )


# What the migrations make of a schema, its own name left out: every relation (tables,
# sequences, views), column (with its type, nullability and default), index, constraint
# and trigger, and the version recorded; each as the rows its query returns.
_Shape = dict[str, tuple[tuple[Any, ...], ...]]

_SHAPE_QUERIES = {
    "relations": "SELECT c.relname, c.relkind FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema ORDER BY 1",
    "columns": "SELECT table_name, column_name, data_type, is_nullable,"
    " replace(coalesce(column_default, ''), :prefix, '')"
    " FROM information_schema.columns WHERE table_schema = :schema"
    " ORDER BY table_name, ordinal_position",
    "indexes": "SELECT indexname, replace(indexdef, :prefix, '') FROM pg_indexes"
    " WHERE schemaname = :schema ORDER BY indexname",
    "constraints": "SELECT replace(c.conrelid::regclass::text, :prefix, ''), c.conname,"
    " replace(pg_get_constraintdef(c.oid), :prefix, '')"
    " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
    " WHERE n.nspname = :schema ORDER BY 2, 1",
    "triggers": "SELECT t.tgname, replace(pg_get_triggerdef(t.oid), :prefix, '') FROM pg_trigger t"
    " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = :schema AND NOT t.tgisinternal ORDER BY 1",
    # The schema's name goes into this one: a name this file made (t_ or pool_, digits).
    "version": 'SELECT version_num FROM "{schema}".alembic_version',
}


def _shape(conn: Connection, schema: str) -> _Shape:
    params = {"schema": schema, "prefix": f"{schema}."}
    return {
        name: tuple(tuple(row) for row in conn.execute(text(query.format(schema=schema)), params))
        for name, query in _SHAPE_QUERIES.items()
    }

"""The stores the ``engine`` fixtures hand out, each as ``migrate`` leaves a new one,
without running every migration for every test: a copy of a SQLite file migrated once
(:func:`copied`), a PostgreSQL schema migrated once and emptied after each test
(:class:`Schemas`)."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from alertbot.store import connect, migrate


@contextlib.contextmanager
def copied(template: Path, url: str) -> Iterator[None]:
    """The store at ``url`` (a SQLite file not yet there) as a copy of ``template``."""
    path = Path(url.removeprefix("sqlite:///"))
    if not path.exists() and not template.with_name(template.name + "-wal").exists():
        shutil.copyfile(template, path)
    yield


class Schemas:
    """Migrated PostgreSQL schemas of this test process, emptied after a test and reused.

    A test's schema (``postgres_url``) is swapped for one an earlier test migrated and
    left empty: the empty one is dropped and the migrated one renamed to its name
    (catalog updates, a few milliseconds). After the test its tables are emptied
    (``TRUNCATE ... RESTART IDENTITY``: ids start at 1 again) and the schema goes back
    into the pool under another name. One whose tables, columns, indexes or migration
    version differ from a freshly migrated schema's (a test that changed the schema), or
    that cannot be emptied within two seconds, is not reused: ``postgres_url`` drops it.
    """

    def __init__(self) -> None:
        self.free: list[str] = []
        self.fresh: _Shape | None = None  # a schema's just after every migration ran

    @contextlib.contextmanager
    def reused(self, url: str) -> Iterator[None]:
        schema = url.rpartition("search_path%3D")[2]
        admin = connect(url.partition("?")[0], isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                if self.free:
                    conn.execute(text(f'DROP SCHEMA "{schema}"'))
                    conn.execute(text(f'ALTER SCHEMA "{self.free.pop()}" RENAME TO "{schema}"'))
                elif self.fresh is None:
                    migrated = connect(url)
                    migrate(migrated)
                    migrated.dispose()
                    self.fresh = _shape(conn, schema)
            yield
            with admin.connect() as conn:
                self._put_back(conn, schema)
        finally:
            admin.dispose()

    def _put_back(self, conn: Connection, schema: str) -> None:
        try:
            if _shape(conn, schema) != self.fresh:
                return
            tables = {column[0] for column in self.fresh.columns} - {"alembic_version"}
            emptied = ", ".join(f'"{schema}"."{t}"' for t in sorted(tables))
            conn.execute(text("SET lock_timeout = '2s'"))
            conn.execute(text(f"TRUNCATE {emptied} RESTART IDENTITY CASCADE"))
        except DBAPIError:
            return  # left to postgres_url, which drops it
        pooled = f"pool_{uuid.uuid4().hex[:12]}"
        conn.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{pooled}"'))
        self.free.append(pooled)


# The test process's pool: the engine fixture's (tests/conftest.py).
SCHEMAS = Schemas()


@dataclass(frozen=True)
class _Shape:
    """What the migrations make of a schema, its own name left out: every column (with
    its type, nullability and default), every index's definition, the version recorded."""

    columns: tuple[tuple[Any, ...], ...]
    indexes: tuple[tuple[Any, ...], ...]
    version: tuple[tuple[Any, ...], ...]


def _shape(conn: Connection, schema: str) -> _Shape:
    columns = conn.execute(
        text(
            "SELECT table_name, column_name, data_type, is_nullable,"
            " replace(coalesce(column_default, ''), :prefix, '')"
            " FROM information_schema.columns WHERE table_schema = :schema"
            " ORDER BY table_name, ordinal_position"
        ),
        {"schema": schema, "prefix": f"{schema}."},
    ).all()
    indexes = conn.execute(
        text(
            "SELECT indexname, replace(indexdef, :prefix, '') FROM pg_indexes"
            " WHERE schemaname = :schema ORDER BY indexname"
        ),
        {"schema": schema, "prefix": f"{schema}."},
    ).all()
    # The schema's name is one this file made (t_ or pool_ and hex digits): hence the noqa.
    version = conn.execute(text(f'SELECT version_num FROM "{schema}".alembic_version')).all()  # noqa: S608
    return _Shape(*(tuple(tuple(row) for row in rows) for rows in (columns, indexes, version)))

"""Schema migrations: an ordered list of small functions, applied once each.

``schema_version`` records what has run. Never edit a migration that has shipped;
append a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, inspect, select, text

from alertbot.store import schema

Migration = Callable[[Connection], None]


def m001_baseline(conn: Connection) -> None:
    """The 0.1 schema.

    This is the baseline, so it creates the tables as declared in ``schema.py``
    (skipping ``schema_version``, made before any migration runs). Once a later
    migration alters one of these tables, freeze this function to the 0.1 columns.
    """
    tables = [t for t in schema.metadata.sorted_tables if t.name != "schema_version"]
    schema.metadata.create_all(conn, tables=tables)


MIGRATIONS: list[tuple[str, Migration]] = [
    ("baseline", m001_baseline),
]


def pending(conn: Connection) -> list[tuple[int, str, Migration]]:
    done = set(conn.execute(select(schema.schema_version.c.version)).scalars())
    return [
        (number, name, fn)
        for number, (name, fn) in enumerate(MIGRATIONS, start=1)
        if number not in done
    ]


def apply(conn: Connection) -> list[str]:
    """Apply every pending migration inside ``conn``'s transaction; return their names."""
    if conn.dialect.name == "postgresql":
        # Two processes starting at once must not both migrate.
        conn.execute(text("SELECT pg_advisory_xact_lock(7236001)"))
    if not inspect(conn).has_table("schema_version"):
        schema.schema_version.create(conn)
    applied = []
    for number, name, fn in pending(conn):
        fn(conn)
        conn.execute(
            insert(schema.schema_version).values(
                version=number, name=name, applied_at=datetime.now(UTC)
            )
        )
        applied.append(f"{number:03d}_{name}")
    return applied

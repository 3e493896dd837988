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


# Frozen DDL of migration 002: each column as it was added, whatever schema.py says later.
PAPER_LINKS_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("papers", "affiliations", "JSON"),
    ("papers", "primary_category", "VARCHAR(32)"),
    ("papers", "journal_ref", "TEXT"),
    ("papers", "github_repo", "TEXT"),
    ("papers", "project_page", "TEXT"),
    ("papers", "upvotes", "INTEGER"),
    ("papers", "hf_url", "TEXT"),
    ("fetch_log", "n_skipped_entries", "INTEGER NOT NULL DEFAULT 0"),
)


def m002_paper_links(conn: Connection) -> None:
    """Paper fields the digest shows (affiliations, primary category, journal reference,
    code and project links, upvotes, HF page) and the fetch log's skipped entries.

    A column is added only where it is missing: until the baseline is frozen, a fresh
    store gets these columns from ``m001_baseline`` already.
    """
    inspector = inspect(conn)
    for table, column, ddl in PAPER_LINKS_COLUMNS:
        if column not in {c["name"] for c in inspector.get_columns(table)}:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))


MIGRATIONS: list[tuple[str, Migration]] = [
    ("baseline", m001_baseline),
    ("paper_links", m002_paper_links),
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

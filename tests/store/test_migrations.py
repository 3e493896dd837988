"""The schema is built by migrations and matches what the code declares."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from alertbot.store import migrate
from alertbot.store.migrations import MIGRATIONS
from alertbot.store.schema import metadata


def test_it_creates_every_declared_table_and_column(engine: Engine) -> None:
    """A migrated database has exactly the tables and columns schema.py declares."""
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) == set(metadata.tables)
    for name, table in metadata.tables.items():
        columns = {c["name"] for c in inspector.get_columns(name)}
        assert columns == {c.name for c in table.columns}, name


def test_it_records_migrations_and_applies_each_once(engine: Engine) -> None:
    """Migrating an up-to-date database applies nothing."""
    assert migrate(engine) == []
    with engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version FROM schema_version").scalars().all()
    assert sorted(versions) == list(range(1, len(MIGRATIONS) + 1))


def test_it_upgrades_a_store_from_before_migration_002_keeping_its_rows(engine: Engine) -> None:
    """A store without the paper-link columns gains them; its papers and fetch log stay."""
    from datetime import UTC, datetime

    from alertbot.model import FetchStatus, Paper
    from alertbot.store.fetches import FetchRecord, latest_fetches, record_fetch
    from alertbot.store.migrations import PAPER_LINKS_COLUMNS
    from alertbot.store.papers import get_papers, upsert_papers

    now = datetime(2026, 9, 24, tzinfo=UTC)
    upsert_papers(engine, [Paper(id="2609.00001", title="T", abstract="A.", source_format="feed")],
                  source="s", now=now)  # fmt: skip
    record_fetch(engine, FetchRecord("s", "loc", now, now, FetchStatus.OK, n_new=1))
    with engine.begin() as conn:
        for table, column, _ddl in PAPER_LINKS_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version = 2")
    assert migrate(engine) == ["002_paper_links"]
    test_it_creates_every_declared_table_and_column(engine)
    assert get_papers(engine, ["2609.00001"])["2609.00001"].paper.title == "T"
    ((record),) = latest_fetches(engine)
    assert (record.n_new, record.n_skipped_entries) == (1, 0)

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

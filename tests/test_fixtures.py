"""The stores the fixtures hand out: each test's starts as a new migrated store would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Connection, Engine, insert, inspect, text

from alertbot.store import connect, migrate
from alertbot.store.schema import subscribers
from tests.helpers.stores import Schemas

NOW = datetime(2026, 3, 2, tzinfo=UTC)
READER = {
    "name": "r", "timezone": "UTC", "send_time": "06:00", "frequency": "daily",
    "weekly_day": 0, "active": True, "min_score": 0.0, "max_papers": 20,
    "created_at": NOW, "updated_at": NOW,
}  # fmt: skip


def _subscribe(engine: Engine) -> int:
    """A new subscriber's id."""
    with engine.begin() as conn:
        new = conn.execute(insert(subscribers).values(**READER).returning(subscribers.c.id))
        return int(new.scalar_one())


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one())  # noqa: S608
            for t in inspect(conn).get_table_names()
            if t != "alembic_version"
        }


def test_a_test_store_is_empty_migrated_and_counts_ids_from_one(engine: Engine) -> None:
    """Whatever ran before in this process, a test's store has every table, no rows,
    nothing left to migrate, and its first subscriber is number 1."""
    assert set(_rows(engine).values()) == {0}
    assert migrate(engine) == []
    assert _subscribe(engine) == 1


@pytest.mark.postgres
def test_a_postgresql_schema_is_reused_emptied_unless_a_test_changed_it(postgres_url: str) -> None:
    """A schema goes back to the pool emptied, its ids counted from 1 again; one whose
    tables or constraints a test changed, or that ANALYZE left statistics on, is never
    handed out again; the pool is dropped at the end."""
    schemas = Schemas()
    base = postgres_url.partition("?")[0]
    admin = connect(base, isolation_level="AUTOCOMMIT")
    second = f"t_{uuid.uuid4().hex[:12]}"
    made: list[str] = []
    try:
        with schemas.reused(postgres_url):
            first = connect(postgres_url)
            assert (_subscribe(first), _subscribe(first)) == (1, 2)
            first.dispose()
        assert len(schemas.free) == 1
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{second}"'))
        url = f"{base}?options=-csearch_path%3D{second}"
        with schemas.reused(url):
            again = connect(url)
            assert set(_rows(again).values()) == {0}
            assert migrate(again) == []
            assert _subscribe(again) == 1
            with again.begin() as conn:
                conn.execute(text("ALTER TABLE subscribers ADD COLUMN extra int"))
            again.dispose()
        assert schemas.free == []
        for changed in ("ANALYZE subscribers", "ALTER TABLE endpoints DROP CONSTRAINT {fk}"):
            url = _fresh_schema(admin, base, made)
            with schemas.reused(url):
                engine = connect(url)
                migrate(engine)  # as the engine fixture does: the pool is empty here
                _subscribe(engine)
                with engine.begin() as conn:
                    conn.execute(text(changed.format(fk=_foreign_key(conn))))
                engine.dispose()
            assert schemas.free == [], changed
        url = _fresh_schema(admin, base, made)
        with schemas.reused(url):
            engine = connect(url)
            migrate(engine)
            engine.dispose()
        pooled = list(schemas.free)
        assert len(pooled) == 1
        schemas.drop_all()
        with admin.connect() as conn:
            assert not conn.execute(
                text("SELECT 1 FROM pg_namespace WHERE nspname = :pool"), {"pool": pooled[0]}
            ).all()
    finally:
        with admin.connect() as conn:
            for schema in [second, *made, *schemas.free]:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _fresh_schema(admin: Engine, base: str, made: list[str]) -> str:
    """A new empty schema's URL (its name added to ``made``, to drop)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    made.append(schema)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{base}?options=-csearch_path%3D{schema}"


def _foreign_key(conn: Connection) -> str:
    return str(
        conn.execute(
            text(
                "SELECT conname FROM pg_constraint"
                " WHERE conrelid = 'endpoints'::regclass AND contype = 'f'"
            )
        ).scalar_one()
    )


def test_no_property_test_has_a_deadline() -> None:
    """A busy machine slows an example down; that must not fail a test of what holds."""
    assert settings().deadline is None
    assert HealthCheck.too_slow in settings().suppress_health_check

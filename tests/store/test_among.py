"""``among``: an IN list as one parameter, on both databases, at any size."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from alertbot.store.db import among
from alertbot.store.schema import subscribers

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _subscribers(engine: Engine, n: int) -> None:
    row = {"timezone": "UTC", "send_time": "07:00", "frequency": "daily", "weekly_day": 0}
    with engine.begin() as conn:
        conn.execute(
            insert(subscribers),
            [
                {**row, "id": i, "name": f"r{i}", "active": True, "min_score": 0.0,
                 "max_papers": 10, "created_at": T0, "updated_at": T0}
                for i in range(1, n + 1)
            ],
        )  # fmt: skip


def test_it_selects_exactly_the_ids_given_past_sqlites_parameter_limit(engine: Engine) -> None:
    """40,000 ids (SQLite refuses more than 32,766 placeholders) select exactly those
    rows; ids that match nothing are ignored."""
    _subscribers(engine, 50_000)
    wanted = set(range(3, 80_003, 2))  # 24,999 present, the rest beyond the table
    with engine.connect() as conn:
        found = conn.execute(select(subscribers.c.id).where(among(conn, subscribers.c.id, wanted)))
        assert {r.id for r in found} == {i for i in wanted if i <= 50_000}


def test_it_selects_nothing_for_no_ids_and_reads_strings(engine: Engine) -> None:
    """An empty set selects no row; text columns compare as text."""
    _subscribers(engine, 3)
    with engine.connect() as conn:
        none = conn.execute(select(subscribers.c.id).where(among(conn, subscribers.c.id, [])))
        assert none.all() == []
        named = conn.execute(
            select(subscribers.c.id).where(among(conn, subscribers.c.name, ["r2", "x'; --"]))
        )
        assert [r.id for r in named] == [2]

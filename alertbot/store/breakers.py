"""Relay circuit breakers: one row per relay that has been failing, shared by workers.

A relay (an SMTP server, the Slack API) that fails at the connection level several
times in a row is *open*: workers leave its rows in the outbox until ``open_until``,
then try one again (half open). The failure count is not reset when the breaker opens,
so a failure in the half-open state opens it again at once, for longer (``trips``
counts the consecutive openings); a success deletes the row.

The state lives here rather than in process memory, because the next ``alertbot send``
(another process, started by cron a minute later) and every worker sharing one
PostgreSQL outbox must honour it before they claim rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from alertbot.store.db import Db, transaction
from alertbot.store.schema import relay_breakers


def failing_relays(db: Db) -> dict[str, datetime | None]:
    """Every relay with failures on record, and until when it is open (None: closed)."""
    with transaction(db) as conn:
        rows = conn.execute(select(relay_breakers.c.relay, relay_breakers.c.open_until))
        return {r.relay: r.open_until for r in rows}


def record_failure(
    db: Db,
    relay: str,
    *,
    error: str,
    now: datetime,
    threshold: int,
    open_seconds: Callable[[int], float],
) -> datetime | None:
    """Count one more consecutive failure; once ``threshold`` is reached, open the breaker
    for ``open_seconds(trips)`` and return until when (None while it stays closed)."""
    values = {"relay": relay, "failures": 1, "trips": 0, "last_error": error, "updated_at": now}
    with transaction(db) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(relay_breakers).values(**values)
        upsert = insert.on_conflict_do_update(
            index_elements=[relay_breakers.c.relay],
            set_={
                "failures": relay_breakers.c.failures + 1,
                "last_error": insert.excluded.last_error,
                "updated_at": insert.excluded.updated_at,
            },
        ).returning(relay_breakers.c.failures, relay_breakers.c.trips)
        failures, trips = conn.execute(upsert).one()
        if failures < threshold:
            return None
        until = now + timedelta(seconds=open_seconds(trips + 1))
        conn.execute(
            update(relay_breakers)
            .where(relay_breakers.c.relay == relay)
            .values(trips=trips + 1, open_until=until)
        )
    return until


def record_success(db: Db, relay: str) -> None:
    """The relay answered: forget its failures."""
    with transaction(db) as conn:
        conn.execute(delete(relay_breakers).where(relay_breakers.c.relay == relay))

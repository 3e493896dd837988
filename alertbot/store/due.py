"""Which endpoints have a digest due now: the dispatcher tick's selection, in SQL.

The rules are :func:`alertbot.schedule.due.due_digest_date`'s (pure, with their
reasons); this module applies them to the whole store without reading every
subscriber. Subscribers share a handful of schedules (a time zone, a send time, a
frequency and weekday), so the tick:

1. reads the distinct schedules of active subscribers (one grouped scan);
2. computes, per schedule, the latest local date that is due and whether it is
   today there (Python, with the real time zone rules: DST included);
3. selects in one statement the active, confirmed endpoints of active subscribers
   whose schedule has a due date later than ``endpoints.last_digest_date`` (the latest
   date queued there, kept by the outbox insert), or, for an endpoint with nothing
   queued yet, a due date that is today.

An idle tick (nothing due) is therefore two statements that return nothing, whatever
the number of subscribers; a busy one returns exactly the due (endpoint, date) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import Connection, Date, Integer, String, column, select, values

from alertbot.logs import get_logger
from alertbot.model import Frequency
from alertbot.schedule.due import latest_scheduled_date, local_today
from alertbot.store.db import Db, transaction
from alertbot.store.schema import endpoints, subscribers

log = get_logger(__name__)

SCHEDULES_PER_STATEMENT = 4000  # 6 parameters each: under SQLite's 32,766


@dataclass(frozen=True, slots=True)
class Due:
    """A digest due now: this endpoint of this subscriber, for this local date."""

    subscriber_id: int
    endpoint_id: int
    digest_date: date


def due_now(db: Db, *, now: datetime, bucket: tuple[int, int] | None = None) -> list[Due]:
    """Every (endpoint, local date) whose digest is due at ``now`` and not queued yet,
    by subscriber then endpoint id.

    ``bucket=(k, n)`` keeps the subscribers whose id is ``k`` modulo ``n`` (a planning
    bucket, see :mod:`alertbot.deliver.queue`).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    with transaction(db) as conn:
        distinct = conn.execute(
            select(
                subscribers.c.timezone,
                subscribers.c.send_time,
                subscribers.c.frequency,
                subscribers.c.weekly_day,
            )
            .where(subscribers.c.active.is_(True))
            .distinct()
        ).all()
        rows: list[tuple[str, str, str, int, date, int]] = []
        for tz, send_time, frequency, weekly_day in distinct:
            try:
                hh, mm = send_time.split(":")
                day = latest_scheduled_date(
                    tz, time(int(hh), int(mm)), Frequency(frequency), weekly_day, now
                )
                fresh = day is not None and day == local_today(tz, now)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                # Validation refuses these at input; a bad row must not stop everyone's tick.
                log.warning("schedule skipped", timezone=tz, send_time=send_time, error=str(exc))
                continue
            if day is not None:
                rows.append((tz, send_time, frequency, weekly_day, day, int(fresh)))
        found: list[Due] = []
        for start in range(0, len(rows), SCHEDULES_PER_STATEMENT):
            found.extend(_due(conn, rows[start : start + SCHEDULES_PER_STATEMENT], bucket))
    return sorted(found, key=lambda d: (d.subscriber_id, d.endpoint_id))


def _due(
    conn: Connection,
    rows: list[tuple[str, str, str, int, date, int]],
    bucket: tuple[int, int] | None,
) -> list[Due]:
    schedule = (
        values(
            column("timezone", String),
            column("send_time", String),
            column("frequency", String),
            column("weekly_day", Integer),
            column("day", Date),
            column("fresh", Integer),
            name="due_schedule",
        )
        .data(rows)
        .cte("due_schedule")
    )  # a CTE: SQLite has no column list on a VALUES alias
    last = endpoints.c.last_digest_date
    query = (
        select(subscribers.c.id, endpoints.c.id, schedule.c.day)
        .select_from(subscribers)
        .join(
            schedule,
            (schedule.c.timezone == subscribers.c.timezone)
            & (schedule.c.send_time == subscribers.c.send_time)
            & (schedule.c.frequency == subscribers.c.frequency)
            & (schedule.c.weekly_day == subscribers.c.weekly_day),
        )
        .join(endpoints, endpoints.c.subscriber_id == subscribers.c.id)
        .where(
            subscribers.c.active.is_(True),
            endpoints.c.active.is_(True),
            endpoints.c.confirmed.is_(True),
            (last < schedule.c.day) | (last.is_(None) & (schedule.c.fresh == 1)),
        )
    )
    if bucket is not None and bucket[1] > 1:
        query = query.where(subscribers.c.id % bucket[1] == bucket[0])
    return [Due(sid, eid, day) for sid, eid, day in conn.execute(query)]

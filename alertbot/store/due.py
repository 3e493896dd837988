"""Which endpoints the dispatcher tick looks at: selected in SQL by send time.

Each endpoint keeps ``next_due_at``, the instant its next digest can become due by its
subscriber's schedule (NULL: look at the next tick). A tick reads only the endpoints
whose instant has come (one range of ``ix_endpoints_next_due``), applies the rules of
:func:`alertbot.schedule.due.due_digest_date` to them (pure, with their reasons: DST,
downtime, newcomers, frequencies), queues what is due and stores when to look again.
An idle tick is therefore one indexed query that returns nothing, whatever the number
of subscribers.

``next_due_at`` is only *when to look*; *what* is due is always decided by the rule
from the subscriber and ``endpoints.last_digest_date`` (the latest date queued, moved
forward by :func:`look_again` in the transaction that queues the digest). So a stale
instant can delay a digest, never double or drop one, and it cannot delay it long:

* every change that can make a digest due sooner clears it (a new endpoint, a changed
  time zone, send time, frequency or weekday, a resume, a confirmation, a re-enabled
  endpoint: :mod:`alertbot.store.subscribers`, :mod:`alertbot.store.endpoints`), so the
  next tick looks;
* it is never set more than a day ahead (``schedule.due.LOOK_AT_LEAST_EVERY``), so even
  an edit that raced with a tick (cleared, then overwritten by the tick's older
  reading) is looked at again within a day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, case, or_, select, update

from alertbot.store.db import Db, among, transaction
from alertbot.store.schema import endpoints


@dataclass(frozen=True, slots=True)
class Looked:
    """An endpoint whose ``next_due_at`` has come: the tick applies the rules to it."""

    subscriber_id: int
    endpoint_id: int
    last_digest_date: date | None


def _has_come(now: datetime) -> Any:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return or_(endpoints.c.next_due_at.is_(None), endpoints.c.next_due_at <= now)


def due_buckets(db: Db, *, now: datetime, n_buckets: int) -> set[int]:
    """The planning buckets (subscriber id modulo ``n_buckets``) with an endpoint to look
    at ``now``: at most ``n_buckets`` values read, where :func:`to_look_at` reads a row
    per endpoint (a tick reads those per bucket, under the bucket's lock)."""
    query = select(endpoints.c.subscriber_id % max(n_buckets, 1)).where(_has_come(now)).distinct()
    with transaction(db) as conn:
        return {int(k) for (k,) in conn.execute(query)}


def to_look_at(db: Db, *, now: datetime, bucket: tuple[int, int] | None = None) -> list[Looked]:
    """The endpoints to look at ``now``, by subscriber then endpoint id.

    ``bucket=(k, n)`` keeps the subscribers whose id is ``k`` modulo ``n`` (a planning
    bucket, see :mod:`alertbot.deliver.queue`).
    """
    query = select(endpoints.c.subscriber_id, endpoints.c.id, endpoints.c.last_digest_date).where(
        _has_come(now)
    )
    if bucket is not None and bucket[1] > 1:
        query = query.where(endpoints.c.subscriber_id % bucket[1] == bucket[0])
    with transaction(db) as conn:
        rows = conn.execute(query.order_by(endpoints.c.subscriber_id, endpoints.c.id))
        return [Looked(sid, eid, last) for sid, eid, last in rows]


def look_again(
    conn: Connection,
    when: Mapping[int, datetime],
    queued: Iterable[tuple[int, date]] = (),
) -> None:
    """Store, per endpoint id, when the tick should look at it next, and for those it
    ``queued`` a digest for, that date as the last queued (forward only).

    Grouped by (instant, date) (endpoints that share a schedule share both), so a tick
    that looked at 100,000 endpoints writes a few hundred statements, not 100,000, and
    each endpoint is written once: the two were two passes over the same rows before.
    """
    latest: dict[int, date] = {}
    for endpoint_id, day in queued:
        if endpoint_id not in latest or latest[endpoint_id] < day:
            latest[endpoint_id] = day
    groups: dict[tuple[datetime | None, date | None], list[int]] = defaultdict(list)
    for endpoint_id in when.keys() | latest.keys():
        groups[(when.get(endpoint_id), latest.get(endpoint_id))].append(endpoint_id)
    for (instant, queued_day), ids in groups.items():
        values: dict[str, Any] = {}
        if instant is not None:
            values["next_due_at"] = instant
        if queued_day is not None:
            last = endpoints.c.last_digest_date
            values["last_digest_date"] = case(
                (last.is_(None) | (last < queued_day), queued_day), else_=last
            )
        conn.execute(update(endpoints).where(among(conn, endpoints.c.id, ids)).values(**values))

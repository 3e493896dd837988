"""A subscriber's keyword profile as stored: its interests and exclusions
(``profile_queries``, numbered from 1 as ``list`` shows them), threshold and cap.

Each write gives the subscriber a new version (:func:`alertbot.store.subscribers.touch`),
so a dispatcher that kept it reloads it (:mod:`alertbot.store.kept`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from alertbot.model import Profile, Subscriber
from alertbot.store.db import Db, transaction
from alertbot.store.schema import profile_queries, subscribers
from alertbot.store.subscribers import (
    EXCLUSION,
    INTEREST,
    new_version,
    one,
    touch,
    write_queries,
)


def set_profile(db: Db, subscriber_id: int, profile: Profile, *, now: datetime) -> Subscriber:
    """Replace the whole profile (interests, exclusions, threshold and cap)."""
    with transaction(db) as conn:
        conn.execute(
            update(subscribers)
            .where(subscribers.c.id == subscriber_id)
            .values(
                min_score=profile.min_score,
                max_papers=profile.max_papers,
                updated_at=now,
                version=new_version(),
            )
        )
        write_queries(conn, subscriber_id, INTEREST, profile.interests)
        write_queries(conn, subscriber_id, EXCLUSION, profile.exclusions)
        return one(conn, subscriber_id)


# Called with the list as it is, under the lock, before a query is added: raising
# refuses the add (the service's caps and duplicate check).
AddCheck = Callable[[Sequence[str]], None]


def _append(
    db: Db, subscriber_id: int, kind: str, query: str, now: datetime, check: AddCheck | None
) -> Subscriber:
    with transaction(db) as conn:
        touch(conn, subscriber_id, now)
        if check is not None:
            # Checked here, after the touch took the lock, not on a copy the caller read
            # before: two adds at once each passed a cap the two together broke.
            check(_queries(conn, subscriber_id, kind))
        position = conn.execute(
            select(func.coalesce(func.max(profile_queries.c.position) + 1, 0)).where(
                profile_queries.c.subscriber_id == subscriber_id, profile_queries.c.kind == kind
            )
        ).scalar_one()
        conn.execute(
            insert(profile_queries).values(
                subscriber_id=subscriber_id, kind=kind, position=position, query=query
            )
        )
        return one(conn, subscriber_id)


def add_interest(
    db: Db, subscriber_id: int, query: str, *, now: datetime, check: AddCheck | None = None
) -> Subscriber:
    return _append(db, subscriber_id, INTEREST, query, now, check)


def add_exclusion(
    db: Db, subscriber_id: int, query: str, *, now: datetime, check: AddCheck | None = None
) -> Subscriber:
    return _append(db, subscriber_id, EXCLUSION, query, now, check)


def _queries(conn: Connection, subscriber_id: int, kind: str) -> tuple[str, ...]:
    profile = one(conn, subscriber_id).profile
    return profile.interests if kind == INTEREST else profile.exclusions


def _position_error(kind: str, position: int, current: Sequence[str]) -> IndexError:
    return IndexError(
        f"there is no {kind} number {position}"
        + (f" (you have {len(current)})" if current else " (you have none)")
    )


def _remove(db: Db, subscriber_id: int, kind: str, position: int, now: datetime) -> str:
    with transaction(db) as conn:
        # Touched before the list is read: the list is rewritten as read, so a query another
        # process added or removed after the read would be undone. SQLite read it outside
        # the write (the driver begins a transaction only at the first write), and the
        # touch takes the write lock; on PostgreSQL, the subscriber's row lock, which every
        # edit of the list takes first, so edits of one subscriber's list take turns.
        touch(conn, subscriber_id, now)
        current = _queries(conn, subscriber_id, kind)
        if not 1 <= position <= len(current):
            raise _position_error(kind, position, current)
        removed = current[position - 1]
        write_queries(conn, subscriber_id, kind, current[: position - 1] + current[position:])
        return removed


def remove_interest(db: Db, subscriber_id: int, position: int, *, now: datetime) -> str:
    """Remove the interest numbered ``position`` (1-based, as ``list`` shows it)."""
    return _remove(db, subscriber_id, INTEREST, position, now)


def remove_exclusion(db: Db, subscriber_id: int, position: int, *, now: datetime) -> str:
    """Remove the exclusion numbered ``position`` (1-based)."""
    return _remove(db, subscriber_id, EXCLUSION, position, now)


def replace_query(
    db: Db, subscriber_id: int, kind: str, position: int, query: str, *, now: datetime
) -> Subscriber:
    """Put ``query`` in place of the interest or exclusion numbered ``position`` (1-based)."""
    with transaction(db) as conn:
        touch(conn, subscriber_id, now)  # before the read, as in _remove
        current = list(_queries(conn, subscriber_id, kind))
        if not 1 <= position <= len(current):
            raise _position_error(kind, position, current)
        current[position - 1] = query
        write_queries(conn, subscriber_id, kind, current)
        return one(conn, subscriber_id)


def clear_profile(db: Db, subscriber_id: int, *, now: datetime) -> Subscriber:
    """Forget every interest and exclusion; the subscriber and endpoints stay."""
    with transaction(db) as conn:
        touch(conn, subscriber_id, now)
        conn.execute(
            delete(profile_queries).where(profile_queries.c.subscriber_id == subscriber_id)
        )
        return one(conn, subscriber_id)

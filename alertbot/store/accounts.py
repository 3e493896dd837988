"""The subscribers' web accounts: who owns an address, used sign-in links, and the
session generation that sign-out and unsubscribe move on (:mod:`alertbot.web.session`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from alertbot.model import EndpointKind
from alertbot.store.db import Db, begin_write, transaction
from alertbot.store.schema import endpoints, session_generations, used_signin_links


def email_owner(db: Db, address: str) -> tuple[int, int] | None:
    """``(subscriber id, endpoint id)`` of the email endpoint at ``address`` (any case),
    the oldest if several subscribers gave it; None if nobody did."""
    e = endpoints.c
    with transaction(db) as conn:
        row = conn.execute(
            select(e.subscriber_id, e.id)
            .where(e.kind == EndpointKind.EMAIL.value, func.lower(e.address) == address.lower())
            .order_by(e.id)
            .limit(1)
        ).first()
    return (int(row[0]), int(row[1])) if row is not None else None


def use_signin_link(db: Db, link_id: str, *, now: datetime) -> bool:
    """Mark the sign-in link ``link_id`` used; False if it was used before (two uses at
    once: one wins, by the primary key)."""
    with transaction(db) as conn:
        # Nested in the caller's transaction on SQLite too: else the savepoint's release
        # committed the spent link though the caller's transaction then rolled back.
        begin_write(conn, used_signin_links)
        try:
            # A savepoint: inside a caller's transaction, the refusal must not end it.
            with conn.begin_nested():
                conn.execute(used_signin_links.insert().values(link_id=link_id, used_at=now))
        except IntegrityError:
            return False
    return True


def signin_link_used(db: Db, link_id: str) -> bool:
    """Whether the sign-in link ``link_id`` was used already (a read: no change)."""
    with transaction(db) as conn:
        found = conn.execute(
            select(used_signin_links.c.link_id).where(used_signin_links.c.link_id == link_id)
        ).first()
    return found is not None


def forget_used_links(db: Db, *, before: datetime) -> int:
    """Drop the used links older than ``before`` (past their lifetime); returns how many."""
    with transaction(db) as conn:
        result = conn.execute(delete(used_signin_links).where(used_signin_links.c.used_at < before))
        return int(result.rowcount)


def session_generation(db: Db, subscriber_id: int) -> int:
    """The generation a session of ``subscriber_id`` must carry to be valid (0 at first)."""
    with transaction(db) as conn:
        value = conn.execute(
            select(session_generations.c.generation).where(
                session_generations.c.subscriber_id == subscriber_id
            )
        ).scalar()
    return int(value or 0)


def end_sessions(db: Db, subscriber_id: int) -> int:
    """Move ``subscriber_id``'s generation on: every session issued before is over.
    Returns the new generation."""
    g = session_generations.c
    with transaction(db) as conn:
        moved = conn.execute(
            update(session_generations)
            .where(g.subscriber_id == subscriber_id)
            .values(generation=g.generation + 1)
        ).rowcount
        if not moved:
            try:
                with conn.begin_nested():
                    conn.execute(
                        session_generations.insert().values(
                            subscriber_id=subscriber_id, generation=1
                        )
                    )
            except IntegrityError:  # inserted at the same moment by another sign-out
                conn.execute(
                    update(session_generations)
                    .where(g.subscriber_id == subscriber_id)
                    .values(generation=g.generation + 1)
                )
        value = conn.execute(
            select(g.generation).where(g.subscriber_id == subscriber_id)
        ).scalar_one()
    return int(value)

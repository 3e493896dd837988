"""A subscriber's delivery endpoints (an email address, a Slack user or channel, a
file): adding, reading, enabling and disabling, confirming, removing.

Each write gives the owner a new version, so a dispatcher that kept the subscriber
reloads it (:mod:`alertbot.store.kept`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, ScalarSelect, delete, insert, select, update

from alertbot.model import Endpoint, EndpointKind
from alertbot.store.db import Db, transaction
from alertbot.store.schema import endpoints, subscribers
from alertbot.store.subscribers import NotFound, endpoint_from, new_version


def add_endpoint(
    db: Db,
    subscriber_id: int,
    kind: EndpointKind,
    address: str,
    *,
    now: datetime,
    slack_team_id: str | None = None,
    confirmed: bool = True,
    check: EndpointCheck | None = None,
) -> Endpoint:
    """Add a delivery endpoint; adding the same (kind, address) again returns the first.

    ``check``, when given, is called first with the owner's endpoints of ``kind`` as
    stored, under the lock; raising refuses the add (or answers it: the service's
    check raises for an address it finds there).
    """
    kind = EndpointKind(kind)
    with transaction(db) as conn:
        # The owner's new version is written before looking for the address: two adds of
        # one address that both looked first found none, and the second failed on the
        # unique key. SQLite looked outside the write (the driver begins a transaction
        # only at the first write), and the update takes the write lock; on PostgreSQL,
        # the owner's row lock, which an add of the same address waits for too. A repeat
        # add thus gives a new version for nothing: a kept copy of the subscriber is
        # reloaded once.
        if not _new_version_of_owner(conn, subscriber_id):
            raise NotFound(f"no subscriber with id {subscriber_id}")
        if check is not None:
            # Checked here, after the version write took the lock, not on a copy the
            # caller read before: two adds at once each passed a cap the two broke.
            check(_of_kind(conn, subscriber_id, kind))
        existing = conn.execute(
            select(endpoints).where(
                endpoints.c.subscriber_id == subscriber_id,
                endpoints.c.kind == kind.value,
                endpoints.c.address == address,
            )
        ).first()
        if existing is not None:
            return endpoint_from(existing)
        new_id = conn.execute(
            insert(endpoints)
            .values(
                subscriber_id=subscriber_id,
                kind=kind.value,
                address=address,
                slack_team_id=slack_team_id,
                active=True,
                confirmed=confirmed,
                created_at=now,
            )
            .returning(endpoints.c.id)
        ).scalar_one()
        row = conn.execute(select(endpoints).where(endpoints.c.id == new_id)).one()
        return endpoint_from(row)


# Called with the owner's endpoints of the kind as stored, under the lock, before one is
# added: raising refuses the add (the service's cap on addresses).
EndpointCheck = Callable[[Sequence[Endpoint]], None]


def _of_kind(conn: Connection, subscriber_id: int, kind: EndpointKind) -> list[Endpoint]:
    rows = conn.execute(
        select(endpoints)
        .where(endpoints.c.subscriber_id == subscriber_id, endpoints.c.kind == kind.value)
        .order_by(endpoints.c.id)
    )
    return [endpoint_from(row) for row in rows]


def get_endpoint(db: Db, endpoint_id: int) -> Endpoint | None:
    with transaction(db) as conn:
        row = conn.execute(select(endpoints).where(endpoints.c.id == endpoint_id)).first()
        return endpoint_from(row) if row is not None else None


def _new_version_of_owner(conn: Connection, subscriber_id: int | ScalarSelect[int]) -> bool:
    """Give the endpoint's owner a new version; False if there is no such subscriber."""
    result = conn.execute(
        update(subscribers).where(subscribers.c.id == subscriber_id).values(version=new_version())
    )
    return bool(result.rowcount)


def _owner(endpoint_id: int) -> ScalarSelect[int]:
    return select(endpoints.c.subscriber_id).where(endpoints.c.id == endpoint_id).scalar_subquery()


def _set_endpoint(db: Db, endpoint_id: int, **values: Any) -> None:
    with transaction(db) as conn:
        _new_version_of_owner(conn, _owner(endpoint_id))
        result = conn.execute(
            update(endpoints).where(endpoints.c.id == endpoint_id).values(**values)
        )
        if result.rowcount == 0:
            raise NotFound(f"no endpoint with id {endpoint_id}")


def set_endpoint_active(
    db: Db, endpoint_id: int, active: bool, *, reason: str | None = None
) -> None:
    """Enable or disable one endpoint; ``reason`` says why it was disabled."""
    values: dict[str, Any] = {"active": active, "disabled_reason": None if active else reason}
    if active:
        values["next_due_at"] = None  # the dispatcher looks at it at the next tick
    _set_endpoint(db, endpoint_id, **values)


def set_dm_channel(db: Db, endpoint_id: int, channel: str) -> None:
    """Remember the DM channel ``conversations.open`` gave for a Slack user endpoint."""
    _set_endpoint(db, endpoint_id, slack_dm_channel=channel)


def confirm_endpoint(db: Db, endpoint_id: int) -> None:
    """Mark an email endpoint as confirmed (double opt-in) and active."""
    _set_endpoint(
        db, endpoint_id, confirmed=True, active=True, disabled_reason=None, next_due_at=None
    )


def remove_endpoint(db: Db, endpoint_id: int) -> bool:
    with transaction(db) as conn:
        _new_version_of_owner(conn, _owner(endpoint_id))
        return bool(conn.execute(delete(endpoints).where(endpoints.c.id == endpoint_id)).rowcount)

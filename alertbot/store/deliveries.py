"""Reading the delivery ledger: outbox rows, their backlog, and what each endpoint received.

The writes are elsewhere: queueing in :mod:`alertbot.store.enqueue`, claiming in
:mod:`alertbot.store.outbox`, each attempt's steps (the state machine) in
:mod:`alertbot.store.attempts`, the papers' delivery marks in :mod:`alertbot.store.marks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from alertbot.model import CLAIMABLE, FINAL, OutboxState
from alertbot.store.db import Db, transaction
from alertbot.store.outbox import OutboxRow, columns, row_from
from alertbot.store.schema import delivered_papers, endpoints, outbox, subscribers


@dataclass(frozen=True, slots=True)
class Backlog:
    """Rows per state, and how long the oldest deliverable row has waited."""

    counts: dict[OutboxState, int]
    oldest_pending_seconds: float | None


def last_queued_dates(db: Db) -> dict[int, date]:
    """The latest digest date queued per endpoint (any state)."""
    with transaction(db) as conn:
        rows = conn.execute(
            select(outbox.c.endpoint_id, func.max(outbox.c.digest_date)).group_by(
                outbox.c.endpoint_id
            )
        )
        return {r[0]: r[1] for r in rows}


def list_rows(db: Db, *, states: Sequence[OutboxState] = (), limit: int = 50) -> list[OutboxRow]:
    """Rows newest first, optionally only in ``states``."""
    query = (
        select(*columns())
        .join(endpoints, endpoints.c.id == outbox.c.endpoint_id)
        .order_by(outbox.c.created_at.desc(), outbox.c.id.desc())
        .limit(limit)
    )
    if states:
        query = query.where(outbox.c.state.in_(list(states)))
    with transaction(db) as conn:
        return [row_from(r) for r in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One outbox row with who and where it goes, as ``deliveries list`` shows it."""

    row: OutboxRow
    subscriber: str
    address: str


def ledger(db: Db, *, states: Sequence[OutboxState] = (), limit: int = 50) -> list[LedgerEntry]:
    """Rows newest first (only in ``states`` when given), with subscriber names."""
    query = (
        select(*columns(), subscribers.c.name.label("subscriber_name"), endpoints.c.address)
        .join(endpoints, endpoints.c.id == outbox.c.endpoint_id)
        .join(subscribers, subscribers.c.id == outbox.c.subscriber_id)
        .order_by(outbox.c.created_at.desc(), outbox.c.id.desc())
        .limit(limit)
    )
    if states:
        query = query.where(outbox.c.state.in_(list(states)))
    with transaction(db) as conn:
        return [LedgerEntry(row_from(r), r.subscriber_name, r.address) for r in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class Waiting:
    """What an ``alertbot send`` leaves behind: retries not due yet, rows others hold."""

    retrying: int  # failed or pending, next attempt later
    next_attempt_at: datetime | None  # the soonest of them
    last_error: str | None  # that row's last error
    in_flight: int  # claimed by a worker right now
    unknown: int  # maybe delivered: the operator decides


def waiting(db: Db, *, now: datetime) -> Waiting:
    """The rows ``send`` did not finish, and the soonest retry among them."""
    with transaction(db) as conn:
        later = conn.execute(
            select(outbox.c.next_attempt_at, outbox.c.last_error)
            .where(outbox.c.state.in_(sorted(CLAIMABLE)), outbox.c.next_attempt_at > now)
            .order_by(outbox.c.next_attempt_at)
        ).all()
        counts: dict[str, int] = dict(
            conn.execute(
                select(outbox.c.state, func.count())
                .where(outbox.c.state.in_([OutboxState.SENDING, OutboxState.UNKNOWN]))
                .group_by(outbox.c.state)
            ).all()
        )
    return Waiting(
        retrying=len(later),
        next_attempt_at=later[0].next_attempt_at if later else None,
        last_error=later[0].last_error if later else None,
        in_flight=int(counts.get(OutboxState.SENDING, 0)),
        unknown=int(counts.get(OutboxState.UNKNOWN, 0)),
    )


def due_count(db: Db, *, now: datetime) -> int:
    """Rows a worker may claim now (a ``send`` about to start has this much to do)."""
    with transaction(db) as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    outbox.c.state.in_(sorted(CLAIMABLE)), outbox.c.next_attempt_at <= now
                )
            ).scalar_one()
        )


def backlog(db: Db, *, now: datetime) -> Backlog:
    """Counts per state and the age of the oldest row waiting to be sent."""
    with transaction(db) as conn:
        counts = {
            OutboxState(state): int(n)
            for state, n in conn.execute(
                select(outbox.c.state, func.count()).group_by(outbox.c.state)
            )
        }
        oldest: datetime | None = conn.execute(
            select(func.min(outbox.c.created_at)).where(
                outbox.c.state.in_(sorted(set(OutboxState) - FINAL))
            )
        ).scalar_one()
    age = (now - oldest).total_seconds() if oldest is not None else None
    return Backlog(counts=counts, oldest_pending_seconds=age)


def delivered_paper_ids(db: Db, endpoint_id: int) -> set[str]:
    """Every paper id delivered on the endpoint."""
    with transaction(db) as conn:
        rows = conn.execute(
            select(delivered_papers.c.paper_id).where(delivered_papers.c.endpoint_id == endpoint_id)
        )
        return {r.paper_id for r in rows}


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    """One outbox row as ``subscribers show`` lists it."""

    id: int
    endpoint_id: int
    digest_date: date
    state: OutboxState
    attempts: int
    n_papers: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def recent_outbox(db: Db, endpoint_ids: Sequence[int], *, limit: int = 10) -> list[OutboxSummary]:
    """The latest outbox rows of these endpoints, newest digest date first."""
    if not endpoint_ids:
        return []
    query = (
        select(
            outbox.c.id,
            outbox.c.endpoint_id,
            outbox.c.digest_date,
            outbox.c.state,
            outbox.c.attempts,
            outbox.c.paper_ids,
            outbox.c.last_error,
            outbox.c.created_at,
            outbox.c.sent_at,
        )
        .where(outbox.c.endpoint_id.in_(list(endpoint_ids)))
        .order_by(outbox.c.digest_date.desc(), outbox.c.id.desc())
        .limit(limit)
    )
    with transaction(db) as conn:
        return [
            OutboxSummary(
                id=r.id,
                endpoint_id=r.endpoint_id,
                digest_date=r.digest_date,
                state=OutboxState(r.state),
                attempts=r.attempts or 0,
                n_papers=len(r.paper_ids or ()),
                last_error=r.last_error,
                created_at=r.created_at,
                sent_at=r.sent_at,
            )
            for r in conn.execute(query)
        ]

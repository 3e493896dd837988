"""The outbox: one row per (endpoint, local digest date), the delivery ledger.

The unique key (``uq_outbox_endpoint_date``) makes queueing idempotent: a digest can
never be queued twice, however many dispatchers run. States::

    pending -> sending -> sent                 delivered; its papers are marked delivered
                       -> failed -> sending    transient error, retried with backoff
                       -> dead                 permanent error, or max_attempts reached
                       -> unknown              SMTP silent after DATA: maybe delivered
    empty                                      nothing matched that day; nothing to send

Claiming is a conditional ``UPDATE ... WHERE id = :id AND state IN ('pending',
'failed') AND next_attempt_at <= :now`` whose row count says who won, so two workers
(threads, processes, machines sharing one PostgreSQL) never send the same row. On
PostgreSQL the candidates are selected ``FOR UPDATE SKIP LOCKED`` so concurrent workers
take different rows instead of queueing behind each other.

A crashed worker leaves rows in ``sending``; once their lease (``claimed_at`` older than
``delivery.lease_seconds``) is over they are **reclaimed as pending** and sent again.
That is at-least-once for one narrow window: a crash after the server accepted a
message (its 250 reply) and before the row was committed ``sent``, a few milliseconds
per message. The alternative, marking reclaimed rows ``unknown``, would silently drop
every digest a killed worker had claimed but not yet sent, which is a far likelier
loss than that window's duplicate. (A timeout *after* DATA is different: there the
ambiguity is known and long, so that row becomes ``unknown``; see ``alertbot/deliver/email.py``.)

Papers count as delivered only when their row becomes ``sent`` (``mark_delivered`` in
the same transaction), so a dead digest's papers roll into the next digest.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from alertbot.model import CLAIMABLE, EndpointKind, OutboxState
from alertbot.store.db import Db, transaction
from alertbot.store.schema import delivered_papers, endpoints, outbox


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One outbox row, with its endpoint's kind (for grouping by channel)."""

    id: int
    subscriber_id: int
    endpoint_id: int
    kind: EndpointKind
    digest_date: date
    state: OutboxState
    attempts: int
    paper_ids: tuple[str, ...]
    more: int
    created_at: datetime
    next_attempt_at: datetime
    claimed_at: datetime | None = None
    claimed_by: str | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    message_id: str | None = None


def backoff_seconds(attempts: int, *, base: float, cap: float, jitter: float) -> float:
    """Delay before retry number ``attempts`` (1 = first retry): ``min(cap, base * 2^(n-1))``.

    ``jitter`` in [0, 1] scales the delay into its upper half ("equal jitter"), so
    rows that failed together (a relay outage) do not all come back at once.
    """
    delay = min(cap, base * 2.0 ** max(attempts - 1, 0))
    return delay * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))


def columns() -> list[Any]:
    return [*outbox.c, endpoints.c.kind.label("kind")]


def row_from(r: Any) -> OutboxRow:
    return OutboxRow(
        id=r.id,
        subscriber_id=r.subscriber_id,
        endpoint_id=r.endpoint_id,
        kind=EndpointKind(r.kind),
        digest_date=r.digest_date,
        state=OutboxState(r.state),
        attempts=r.attempts or 0,
        paper_ids=tuple(str(p) for p in r.paper_ids or ()),
        more=r.more or 0,
        created_at=r.created_at,
        next_attempt_at=r.next_attempt_at,
        claimed_at=r.claimed_at,
        claimed_by=r.claimed_by,
        sent_at=r.sent_at,
        last_error=r.last_error,
        message_id=r.message_id,
    )


def insert(
    db: Db,
    *,
    subscriber_id: int,
    endpoint_id: int,
    digest_date: date,
    paper_ids: Sequence[str],
    more: int,
    state: OutboxState,
    now: datetime,
    last_error: str | None = None,
) -> bool:
    """Queue a digest; False if that (endpoint, date) is already in the outbox."""
    values = {
        "subscriber_id": subscriber_id,
        "endpoint_id": endpoint_id,
        "digest_date": digest_date,
        "state": state,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "paper_ids": list(paper_ids),
        "more": more,
        "last_error": last_error,
    }
    with transaction(db) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(outbox).values(**values).on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT with RETURNING.
        return conn.execute(stmt.returning(outbox.c.id)).first() is not None


def reclaim_expired(db: Db, *, now: datetime, lease_seconds: float, max_attempts: int) -> int:
    """Rows left in ``sending`` by a crashed worker go back to pending (or dead). Returns count."""
    expired = (outbox.c.state == OutboxState.SENDING) & (
        outbox.c.claimed_at < now - timedelta(seconds=lease_seconds)
    )
    note = "worker lost during the attempt (lease expired); sent again"
    with transaction(db) as conn:
        dead = conn.execute(
            update(outbox)
            .where(expired, outbox.c.attempts + 1 >= max_attempts)
            .values(
                state=OutboxState.DEAD,
                attempts=outbox.c.attempts + 1,
                last_error=note,
                claimed_by=None,
            )
        ).rowcount
        back = conn.execute(
            update(outbox)
            .where(expired)
            .values(
                state=OutboxState.PENDING,
                attempts=outbox.c.attempts + 1,
                last_error=note,
                next_attempt_at=now,
                claimed_at=None,
                claimed_by=None,
            )
        ).rowcount
    return int(dead) + int(back)


def claim(engine: Engine, *, now: datetime, worker_id: str, limit: int) -> list[OutboxRow]:
    """Take up to ``limit`` deliverable rows for ``worker_id``, oldest first."""
    due = outbox.c.state.in_(sorted(CLAIMABLE)) & (outbox.c.next_attempt_at <= now)
    with engine.begin() as conn:
        candidates = (
            select(outbox.c.id)
            .where(due)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list(conn.execute(candidates).scalars())
        won: list[int] = []
        for row_id in ids:
            # The conditional UPDATE is the claim; its row count says whether we won.
            result = conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id, due)
                .values(state=OutboxState.SENDING, claimed_at=now, claimed_by=worker_id)
            )
            if result.rowcount == 1:
                won.append(row_id)
        if not won:
            return []
        rows = conn.execute(
            select(*columns())
            .join(endpoints, endpoints.c.id == outbox.c.endpoint_id)
            .where(outbox.c.id.in_(won))
        )
        by_id = {r.id: row_from(r) for r in rows}
    return [by_id[i] for i in won if i in by_id]


def renew(db: Db, ids: Iterable[int], *, worker_id: str, now: datetime) -> None:
    """Extend the lease of rows this worker still holds (a long batch)."""
    ids = list(ids)
    if not ids:
        return
    with transaction(db) as conn:
        conn.execute(
            update(outbox)
            .where(
                outbox.c.id.in_(ids),
                outbox.c.state == OutboxState.SENDING,
                outbox.c.claimed_by == worker_id,
            )
            .values(claimed_at=now)
        )


def release(db: Db, ids: Iterable[int], *, worker_id: str) -> int:
    """Give back claimed rows not attempted (a stop request): pending, attempts unchanged."""
    ids = list(ids)
    if not ids:
        return 0
    with transaction(db) as conn:
        return int(
            conn.execute(
                update(outbox)
                .where(
                    outbox.c.id.in_(ids),
                    outbox.c.state == OutboxState.SENDING,
                    outbox.c.claimed_by == worker_id,
                )
                .values(state=OutboxState.PENDING, claimed_at=None, claimed_by=None)
            ).rowcount
        )


def complete(
    engine: Engine,
    row: OutboxRow,
    *,
    worker_id: str,
    now: datetime,
    message_id: str | None,
    paper_ids: Sequence[str],
) -> bool:
    """Mark the row sent and its papers delivered, in one transaction.

    False if the row was no longer ours (its lease expired and another worker took it).
    """
    with engine.begin() as conn:
        result = conn.execute(
            update(outbox)
            .where(
                outbox.c.id == row.id,
                outbox.c.state == OutboxState.SENDING,
                outbox.c.claimed_by == worker_id,
            )
            .values(
                state=OutboxState.SENT,
                sent_at=now,
                message_id=message_id,
                attempts=outbox.c.attempts + 1,
                last_error=None,
                claimed_by=None,
            )
        )
        if result.rowcount != 1:
            return False
        mark_delivered(conn, row.endpoint_id, paper_ids, row.id, now=now)
    return True


def fail(
    db: Db,
    row: OutboxRow,
    error: str,
    *,
    worker_id: str,
    now: datetime,
    permanent: bool = False,
    unknown: bool = False,
    max_attempts: int,
    base_seconds: float,
    max_seconds: float,
    rng: random.Random | None = None,
) -> OutboxState:
    """Record a failed attempt; returns the new state (failed, dead or unknown)."""
    attempts = row.attempts + 1
    if unknown:
        state = OutboxState.UNKNOWN
    elif permanent or attempts >= max_attempts:
        state = OutboxState.DEAD
    else:
        state = OutboxState.FAILED
    jitter = (rng or _RNG).random()
    delay = backoff_seconds(attempts, base=base_seconds, cap=max_seconds, jitter=jitter)
    with transaction(db) as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id, outbox.c.claimed_by == worker_id)
            .values(
                state=state,
                attempts=attempts,
                last_error=error[:2000],
                next_attempt_at=now + timedelta(seconds=delay),
                claimed_by=None,
            )
        )
    return state


# Jitter spreads retries; it needs no unpredictability, so the plain PRNG is right.
_RNG = random.Random()


def finish(db: Db, row: OutboxRow, state: OutboxState, note: str, *, worker_id: str) -> None:
    """End a claimed row without sending it (``empty`` or ``dead``) with a reason."""
    with transaction(db) as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id, outbox.c.claimed_by == worker_id)
            .values(state=state, last_error=note, claimed_by=None)
        )


def retry(db: Db, row_id: int, *, now: datetime) -> bool:
    """Put an ``unknown``, ``dead`` or ``failed`` row back to pending (an operator's call)."""
    with transaction(db) as conn:
        result = conn.execute(
            update(outbox)
            .where(
                outbox.c.id == row_id,
                outbox.c.state.in_((OutboxState.UNKNOWN, OutboxState.DEAD, OutboxState.FAILED)),
            )
            .values(state=OutboxState.PENDING, next_attempt_at=now, attempts=0, claimed_by=None)
        )
        return result.rowcount == 1


def mark_delivered(
    db: Db, endpoint_id: int, paper_ids: Iterable[str], outbox_id: int, *, now: datetime
) -> int:
    """Record papers as delivered on the endpoint; duplicates are ignored. Returns rows added."""
    rows = [
        {"endpoint_id": endpoint_id, "paper_id": pid, "outbox_id": outbox_id, "delivered_at": now}
        for pid in dict.fromkeys(paper_ids)
    ]
    if not rows:
        return 0
    with transaction(db) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        # One statement run with many parameter sets: SQLAlchemy batches it into
        # multi-row INSERTs ("insertmanyvalues") and caches its compiled form, which a
        # .values(rows) statement of varying length never hits. RETURNING counts the
        # rows really added (an executemany rowcount is not reliable across drivers).
        stmt = (
            dialect.insert(delivered_papers)
            .on_conflict_do_nothing()
            .returning(delivered_papers.c.paper_id)
        )
        return len(conn.execute(stmt, rows).all())


def prune_delivered(engine: Engine, *, before: datetime) -> int:
    """Delete delivered-paper rows older than ``before``; returns how many.

    Only recent rows matter (a paper is a candidate only if stored after the last
    digest sent), so old ones are dead weight.
    """
    with engine.begin() as conn:
        result = conn.execute(
            delete(delivered_papers).where(delivered_papers.c.delivered_at < before)
        )
    return int(result.rowcount or 0)

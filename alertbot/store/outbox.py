"""The outbox: one row per (endpoint, local digest date), the delivery ledger.

The unique key (``uq_outbox_endpoint_date``) makes queueing idempotent: a digest can
never be queued twice, however many dispatchers run (rows are queued by
:mod:`alertbot.store.enqueue`). States (the table from a failed
attempt's outcome to the next state is ``alertbot.deliver.outcome.HANDLING``)::

    pending -> sending -> sent                 delivered; its papers are marked delivered
                       -> failed -> sending    transient error, retried until the deadline
                       -> dead                 permanent error, or its deadline passed
                       -> unknown              the far side may have it; never resent by itself
    empty                                      nothing matched that day; nothing to send

Claiming is a conditional ``UPDATE ... WHERE id = :id AND state IN ('pending',
'failed') AND next_attempt_at <= :now`` whose row count says who won, so two workers
(threads, processes, machines sharing one PostgreSQL) never send the same row. On
PostgreSQL the candidates are selected ``FOR UPDATE SKIP LOCKED`` so concurrent workers
take different rows instead of queueing behind each other.

The steps of an attempt on a claimed row (start, hand-over, the answer) are recorded by
:mod:`alertbot.store.attempts`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Engine,
    select,
    update,
)

from alertbot.model import CLAIMABLE, EndpointKind, Match, OutboxState, SendPhase
from alertbot.store import chosen, learned
from alertbot.store.db import Db, lazy_transaction, transaction
from alertbot.store.schema import endpoints, outbox


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
    phase: SendPhase | None = None
    deadline_at: datetime | None = None
    matches_json: str | None = None  # the chosen matches, see alertbot.store.chosen
    rest_json: str | None = None  # the matches beyond the cap, bare (0010_outbox_rest)
    learning_json: str | None = None  # the learned ranking's part, see alertbot.store.learned

    def matches(self) -> tuple[Match, ...]:
        """The matches the row was queued with: explained, or bare where
        :attr:`matches_bare` (each naming the profile's interests, no hits; explain them
        with ``alertbot.match.Explainer`` before showing them). Bare ones without
        interests for a row older than 0007."""
        return chosen.decode(self.matches_json, self.paper_ids)

    @property
    def matches_bare(self) -> bool:
        """Whether :meth:`matches` are stored bare (see :mod:`alertbot.store.chosen`)."""
        return chosen.is_bare(self.matches_json)

    def rest(self) -> tuple[Match, ...]:
        """The matches beyond the cap, ranked, each naming all the profile's interests
        and no hits (see :class:`~alertbot.store.chosen.Bare`; none for a row older than
        0010; at most ``MAX_REST`` of the ``more``)."""
        return chosen.decode_rest(self.rest_json).matches()

    def learning(self) -> learned.RowLearning | None:
        """The reasons and suggestions, when the learned ranking ordered the digest."""
        return learned.decode(self.learning_json)


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
        phase=SendPhase(r.phase) if r.phase else None,
        deadline_at=r.deadline_at,
        matches_json=r.matches,
        rest_json=r.rest,
        learning_json=r.learning,
    )


def claim(
    engine: Engine,
    *,
    now: datetime,
    worker_id: str,
    limit: int,
    skip_kinds: Collection[EndpointKind] = (),
) -> list[OutboxRow]:
    """Take up to ``limit`` deliverable rows for ``worker_id``, oldest first, leaving the
    rows of ``skip_kinds`` (channels whose relay is backed off) where they are."""
    due = outbox.c.state.in_(sorted(CLAIMABLE)) & (outbox.c.next_attempt_at <= now)
    # The write lock is taken before the candidates are read: SQLite read them outside
    # the write (the driver begins a transaction only at the UPDATE), so a claim another
    # worker made in between could take them all and this one came back empty while rows
    # remained, which ends a send loop (two bench workers ran as one). On PostgreSQL the
    # candidates are locked as they are read. Lazy: the batch's first hand-over, durable,
    # makes the claim durable too, and a claim lost to a power cut only frees its rows.
    with lazy_transaction(engine) as conn:
        candidates = (
            select(outbox.c.id)
            .where(due)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
        )
        if skip_kinds:
            skipped = select(endpoints.c.id).where(endpoints.c.kind.in_(sorted(skip_kinds)))
            candidates = candidates.where(outbox.c.endpoint_id.not_in(skipped))
        if conn.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True, of=outbox)
        ids = list(conn.execute(candidates).scalars())
        if not ids:
            return []
        # The conditional UPDATE is the claim; RETURNING says which rows we won (one
        # statement for the batch: a row another worker took meanwhile is not returned).
        taken = set(
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids), due)
                .values(state=OutboxState.SENDING, claimed_at=now, claimed_by=worker_id, phase=None)
                .returning(outbox.c.id)
            ).scalars()
        )
        won = [i for i in ids if i in taken]
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
    with lazy_transaction(db) as conn:
        conn.execute(
            update(outbox)
            .where(
                outbox.c.id.in_(ids),
                outbox.c.state == OutboxState.SENDING,
                outbox.c.claimed_by == worker_id,
            )
            .values(claimed_at=now)
        )


def release(
    db: Db, ids: Iterable[int], *, worker_id: str, state: OutboxState = OutboxState.PENDING
) -> int:
    """Give back claimed rows not attempted (a stop request, a relay backed off): pending
    (or ``state``: failed for a row already tried in this run), attempts unchanged."""
    ids = list(ids)
    if not ids:
        return 0
    with lazy_transaction(db) as conn:
        return int(
            conn.execute(
                update(outbox)
                .where(
                    outbox.c.id.in_(ids),
                    outbox.c.state == OutboxState.SENDING,
                    outbox.c.claimed_by == worker_id,
                )
                .values(state=state, claimed_at=None, claimed_by=None, phase=None)
            ).rowcount
        )


def retry(db: Db, row_id: int, *, now: datetime) -> bool:
    """Put an ``unknown``, ``dead`` or ``failed`` row back to pending (an operator's call),
    with a fresh deadline counted from its next attempt."""
    with transaction(db) as conn:
        result = conn.execute(
            update(outbox)
            .where(
                outbox.c.id == row_id,
                outbox.c.state.in_((OutboxState.UNKNOWN, OutboxState.DEAD, OutboxState.FAILED)),
            )
            .values(
                state=OutboxState.PENDING,
                next_attempt_at=now,
                attempts=0,
                claimed_by=None,
                phase=None,
                deadline_at=None,
            )
        )
        return result.rowcount == 1

"""Recording each step of an attempt on a claimed outbox row, as it happens.

Exactly once rests on recording each step before taking it, one row at a time
(``phase``, a :class:`~alertbot.model.SendPhase`): ``start`` before a row is built and
sent, ``hand_over`` just before the message leaves for good (SMTP's final dot, Slack's
post), ``sent`` once the far side has answered (with the next row's ``hand_over``, or by
``complete`` when none follows). Every write is conditional on
the row still being this worker's, so a worker whose lease was taken over cannot hand a
message over. A worker that dies leaves its rows ``sending``; they are reclaimed by what
their phase says (``alertbot/store/reclaim.py``).

**One write per message.** While a batch goes on, the relay's answer for a row is
written by the next row's ``hand_over``, in one durable transaction with it: the
previous row ``sent`` (its papers marked), this row handed over, the row after it
started. So a row's ``sent`` is durable before the next message's final dot, and the
duplicate window is what it was: a worker killed between a 250 and the next hand-over
leaves that one row ``handed_over``, so ``unknown`` (never resent), as a worker killed
during a final dot always did. The row after is started before this one's final dot
leaves, so a crash then charges it an attempt it did not make, once (this row, handed
over, ends ``unknown`` and cannot crash the worker again). A row no hand-over will
follow (the batch's last; the one before a row released, failed or dropped) is
recorded at once by ``complete``, durably. The failures and drops (``fail``,
``finish``) and a batch's first ``start`` are lazy commits
(:func:`~alertbot.store.db.lazy_transaction`): committed, so a killed process loses
none, but not waited for on the disk; the next durable write flushes them (the
write-ahead log is flushed in order), and losing one in a power cut only makes a row's
recorded fate more cautious.

One write instead of two (a lazy ``complete`` after each 250, then the next row's
durable ``hand_over``) halved the turns two workers take at SQLite's write lock:
``alertbot bench deliver`` with 2 workers, single runs, 537-559 to 623-957 digests/s. On
PostgreSQL the same write is one statement in autocommit, data-modifying CTEs built by
:func:`_pg_write`: the previous row ``sent`` and its marks, this row handed over, the
next started, one commit waiting for the WAL flush. As two statements (the ``sent``,
marks and start, then the hand-over) it was two commits a message: five interleaved
pairs of ``bench deliver -n 2000 -w 2 --db postgres`` gave 619-940 digests/s (median
730) against 192-768 (median 499), the one statement ahead in every pair. (A lazy
commit of the same work was no faster, 1.18 against 1.25 ms a digest: PostgreSQL
flushes concurrent commits together.)

Papers count as delivered only when their row becomes ``sent`` (marked in the same
write, :mod:`alertbot.store.marks`), so a dead digest's papers roll into the next digest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Text,
    bindparam,
    case,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql

from alertbot.model import OutboxState, SendPhase
from alertbot.store import marks
from alertbot.store.db import Db, lazy_transaction
from alertbot.store.outbox import OutboxRow
from alertbot.store.prepared import HotConnection, Prepared, RawTurn, on_postgresql, send_turn
from alertbot.store.schema import delivered_papers, outbox, papers
from alertbot.store.types import UTCDateTime

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class NextRow:
    """The batch's next row, started in the same transaction that ends the current one
    (so a row's start costs no commit of its own)."""

    id: int
    deadline: datetime


def _mine(row_id: int, worker_id: str) -> Any:
    return (
        (outbox.c.id == row_id)
        & (outbox.c.state == OutboxState.SENDING)
        & (outbox.c.claimed_by == worker_id)
    )


def start(db: Db, row: NextRow, *, worker_id: str) -> bool:
    """Record that the attempt on ``row`` begins (and its deadline, at the first attempt).

    False if the row is no longer this worker's.
    """
    with lazy_transaction(db) as conn:
        return _start(conn, row, worker_id)


# Built once, with bound parameters: these run for every message, and building a
# statement costs more than running it (SQLAlchemy then reuses its compiled form).
_MINE = (
    (outbox.c.id == bindparam("b_id"))
    & (outbox.c.state == OutboxState.SENDING)
    & (outbox.c.claimed_by == bindparam("b_worker"))
)
_START = (
    update(outbox)
    .where(_MINE)
    .values(
        phase=SendPhase.STARTED,
        deadline_at=func.coalesce(
            outbox.c.deadline_at, bindparam("b_deadline", type_=UTCDateTime())
        ),
    )
)
_HAND_OVER = (
    update(outbox)
    .where(_MINE)
    .values(phase=SendPhase.HANDED_OVER, claimed_at=bindparam("b_now", type_=UTCDateTime()))
)
# A row another worker reclaimed meanwhile as ``unknown`` (this worker's lease ran out
# while the database was away) is still ours to make ``sent``: we have the relay's answer.
_SENT = (
    update(outbox)
    .where(
        outbox.c.id == bindparam("b_id"),
        outbox.c.claimed_by == bindparam("b_worker"),
        (outbox.c.state == OutboxState.SENDING)
        | ((outbox.c.state == OutboxState.UNKNOWN) & (outbox.c.phase == SendPhase.HANDED_OVER)),
    )
    .values(
        state=OutboxState.SENT,
        sent_at=bindparam("b_now", type_=UTCDateTime()),
        message_id=bindparam("b_message_id"),
        attempts=outbox.c.attempts + case((outbox.c.state == OutboxState.SENDING, 1), else_=0),
        last_error=None,
        claimed_by=None,
        phase=None,
    )
)


_RUN_START, _RUN_HAND_OVER, _RUN_SENT = Prepared(_START), Prepared(_HAND_OVER), Prepared(_SENT)


def _start(conn: Connection | RawTurn, row: NextRow, worker_id: str) -> bool:
    return int(_RUN_START.run(conn, _start_params(row, worker_id)).rowcount) == 1


def _start_params(row: NextRow, worker_id: str) -> dict[str, Any]:
    return {"b_id": row.id, "b_worker": worker_id, "b_deadline": row.deadline}


def _autocommit(
    db: Engine | HotConnection,
    prepared: Prepared,
    params: dict[str, Any],
    read: Callable[[Any], T],
) -> T:
    """One statement in autocommit on PostgreSQL: on the send loop's kept connection, or
    on one checked out for it alone; ``read`` takes what is needed from its result."""
    hot = db if isinstance(db, HotConnection) else HotConnection(db)
    try:
        return read(hot.run(prepared, params))
    finally:
        if hot is not db:
            hot.close()


@dataclass(frozen=True, slots=True)
class Accepted:
    """A relay's acceptance of a row's message, to be recorded ``sent`` by the write that
    hands over the next row (or by :func:`complete` when there is none)."""

    row: OutboxRow
    message_id: str | None
    paper_ids: Sequence[str]
    now: datetime


@dataclass(frozen=True, slots=True)
class HandedOver:
    """What a hand-over's write found: whether the row was still this worker's (if not,
    nothing may be sent), and whether ``previous`` was (None: no previous was given)."""

    ours: bool
    previous_ours: bool | None = None


def hand_over(
    db: Db | HotConnection,
    row_id: int,
    *,
    worker_id: str,
    now: datetime,
    previous: Accepted | None = None,
    start_next: NextRow | None = None,
) -> HandedOver:
    """Record, before the message leaves for good, that the far side may soon have it,
    in one durable write with the batch's other bookkeeping: ``previous`` (the row sent
    just before) becomes ``sent`` and ``start_next`` (the row after) is started.

    Not ``ours`` if the row is no longer this worker's: the caller must then not send it
    (``previous`` and ``start_next`` are recorded all the same).
    """
    if on_postgresql(db):
        assert not isinstance(db, Connection)  # the send loop's writes, never inside one
        params = _complete_params(previous, worker_id, start_next)
        params.update(b_hand=row_id, b_hand_now=now)
        write = _pg_write(sent=previous is not None, start=start_next is not None, hand_over=True)
        changed: tuple[int, ...] = _autocommit(db, write, params, lambda r: tuple(r.one()))
        return HandedOver(changed[-1] == 1, changed[0] == 1 if previous is not None else None)
    params = {"b_id": row_id, "b_worker": worker_id, "b_now": now}
    with send_turn(db) as conn:
        previous_ours = _sent(conn, previous, worker_id) if previous is not None else None
        ours = int(_RUN_HAND_OVER.run(conn, params).rowcount) == 1
        if start_next is not None:
            _start(conn, start_next, worker_id)
    return HandedOver(ours, previous_ours)


def complete(
    engine: Engine | HotConnection,
    row: OutboxRow,
    *,
    worker_id: str,
    now: datetime,
    message_id: str | None,
    paper_ids: Sequence[str],
    start_next: NextRow | None = None,
) -> bool:
    """Mark the row sent and its papers delivered (and start ``start_next``), in one
    durable write. False if the row was no longer ours in any way.

    The send loop records its rows with :func:`record` (the same write) when no next
    hand-over will carry them, and with :func:`hand_over` otherwise.
    """
    accepted = Accepted(row, message_id, paper_ids, now)
    return record(engine, accepted, worker_id=worker_id, start_next=start_next)


def record(
    engine: Engine | HotConnection,
    accepted: Accepted,
    *,
    worker_id: str,
    start_next: NextRow | None = None,
) -> bool:
    """:func:`complete` for a relay's acceptance as the send loop keeps it: for a row no
    next hand-over will carry (the batch's last, or the one before a row released,
    dropped or failed)."""
    if on_postgresql(engine):
        return bool(_complete_pg(engine, accepted, worker_id, start_next))
    with send_turn(engine) as conn:
        ours = _sent(conn, accepted, worker_id)
        if start_next is not None:
            _start(conn, start_next, worker_id)
    return ours


def _sent(conn: Connection | RawTurn, accepted: Accepted, worker_id: str) -> bool:
    """The row ``sent`` and its papers marked, in the caller's transaction (SQLite)."""
    row, now = accepted.row, accepted.now
    params = {"b_id": row.id, "b_worker": worker_id, "b_now": now}
    params["b_message_id"] = accepted.message_id
    ours = int(_RUN_SENT.run(conn, params).rowcount) == 1
    if ours and accepted.paper_ids:
        marks.RUN_INSERT.run(conn, marks.params(row.endpoint_id, accepted.paper_ids, row.id, now))
    return ours


def _complete_pg(
    db: Engine | HotConnection,
    accepted: Accepted,
    worker_id: str,
    start_next: NextRow | None,
) -> bool:
    """``sent`` and the marks for ``accepted`` and the start of ``start_next`` (if any)
    as one statement in autocommit: one round trip instead of six (BEGIN,
    SET LOCAL, three writes, COMMIT; a worker's client CPU per round trip was 40% of its
    time), its commit waiting for the WAL flush like any other (module docstring)."""
    params = _complete_params(accepted, worker_id, start_next)
    write = _pg_write(sent=True, start=start_next is not None, hand_over=False)
    return _autocommit(db, write, params, lambda r: int(r.scalar_one())) == 1


def _complete_params(
    accepted: Accepted | None, worker_id: str, start_next: NextRow | None
) -> dict[str, Any]:
    """The parameters of the PostgreSQL statements below; with no ``accepted``, their
    ``sent`` matches no row (``id = NULL``) and marks nothing."""
    return {
        "b_id": accepted.row.id if accepted else None,
        "b_worker": worker_id,
        "b_now": accepted.now if accepted else None,
        "b_message_id": accepted.message_id if accepted else None,
        "b_endpoint": accepted.row.endpoint_id if accepted else None,
        "b_papers": list(dict.fromkeys(accepted.paper_ids)) if accepted else [],
        "b_next": start_next.id if start_next else None,
        "b_deadline": start_next.deadline if start_next else None,
    }


@functools.cache
def _pg_write(*, sent: bool, start: bool, hand_over: bool) -> Prepared:
    """The send loop's writes on PostgreSQL, as one statement of data-modifying CTEs
    (which see one snapshot and all run, whether or not the final SELECT reads them),
    holding only the parts it is asked for: the previous row ``b_id`` made ``sent`` and
    its papers marked, the next row ``b_next`` started, row ``b_hand`` handed over. It
    returns how many rows the ``sent`` and the hand-over changed, in that order.

    Without ``hand_over`` it is :func:`complete`. With it, the previous row's ``sent``
    and this row's hand-over are one commit, as on SQLite: the ``sent`` is durable
    before this message leaves, for one commit a message instead of two (module
    docstring). The rows are distinct, so no CTE updates a row another
    one does (PostgreSQL leaves that undefined)."""
    ctes: list[Any] = []
    counts: list[Any] = []
    if sent:
        ctes.extend(_sent_and_marks())
        counts.append(ctes[0])
    if start:
        ctes.append(_started())
    if hand_over:
        handed = (
            update(outbox)
            .where(
                outbox.c.id == bindparam("b_hand", type_=Integer()),
                outbox.c.state == OutboxState.SENDING,
                outbox.c.claimed_by == bindparam("b_worker"),
            )
            .values(
                phase=SendPhase.HANDED_OVER,
                claimed_at=bindparam("b_hand_now", type_=UTCDateTime()),
            )
            .returning(outbox.c.id)
            .cte("handed")
        )
        ctes.append(handed)
        counts.append(handed)
    statement = select(*(select(func.count()).select_from(c).scalar_subquery() for c in counts))
    return Prepared(statement.add_cte(*ctes))


def _started() -> Any:
    return (
        update(outbox)
        .where(
            outbox.c.id == bindparam("b_next", type_=Integer()),
            outbox.c.state == OutboxState.SENDING,
            outbox.c.claimed_by == bindparam("b_worker"),
        )
        .values(
            phase=SendPhase.STARTED,
            deadline_at=func.coalesce(
                outbox.c.deadline_at, bindparam("b_deadline", type_=UTCDateTime())
            ),
        )
        .cte("started")
    )


def _sent_and_marks() -> list[Any]:
    """The ``sent`` CTE (row ``b_id``, returning its id when it was ours) and the marks
    of its papers, inserted only if it was."""
    sent = _SENT.returning(outbox.c.id).cte("sent")
    marked = (
        func.unnest(bindparam("b_papers", type_=postgresql.ARRAY(Text)))
        .table_valued("pid")
        .render_derived()
        .alias("marked")
    )
    first_seen = select(papers.c.first_seen).where(papers.c.id == marked.c.pid)
    rows = select(
        bindparam("b_endpoint", type_=Integer()),
        marked.c.pid,
        bindparam("b_id", type_=Integer()),
        bindparam("b_now", type_=UTCDateTime()),
        first_seen.scalar_subquery(),
    ).where(exists(select(sent.c.id)))
    marks = (
        postgresql.insert(delivered_papers)
        .from_select(["endpoint_id", "paper_id", "outbox_id", "delivered_at", "first_seen"], rows)
        .on_conflict_do_nothing()
        .cte("marks")
    )
    return [sent, marks]


def fail(
    db: Db,
    row: OutboxRow,
    error: str,
    *,
    state: OutboxState,
    next_attempt_at: datetime,
    worker_id: str,
    start_next: NextRow | None = None,
) -> None:
    """Record a failed attempt: the row goes to ``state`` (failed, dead or unknown, as
    ``alertbot.deliver.outcome`` decided), retried from ``next_attempt_at`` if failed."""
    with lazy_transaction(db) as conn:
        conn.execute(
            update(outbox)
            .where(_mine(row.id, worker_id))
            .values(
                state=state,
                attempts=outbox.c.attempts + 1,
                last_error=error[:2000],
                next_attempt_at=next_attempt_at,
                claimed_by=None,
                phase=None,
            )
        )
        if start_next is not None:
            _start(conn, start_next, worker_id)


def finish(
    db: Db,
    row: OutboxRow,
    state: OutboxState,
    note: str,
    *,
    worker_id: str,
    start_next: NextRow | None = None,
) -> None:
    """End a claimed row without sending it (``empty`` or ``dead``) with a reason."""
    with lazy_transaction(db) as conn:
        conn.execute(
            update(outbox)
            .where(_mine(row.id, worker_id))
            .values(state=state, last_error=note, claimed_by=None, phase=None)
        )
        if start_next is not None:
            _start(conn, start_next, worker_id)

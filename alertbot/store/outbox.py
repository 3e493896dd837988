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

Exactly once rests on recording each step before taking it, one row at a time
(``phase``, a :class:`~alertbot.model.SendPhase`): ``start`` before a row is built and
sent, ``hand_over`` just before the message leaves for good (SMTP's final dot, Slack's
post), ``complete`` straight after the far side's answer. Every write is conditional on
the row still being this worker's, so a worker whose lease was taken over cannot hand a
message over. A worker that dies leaves its rows ``sending``; they are reclaimed by what
their phase says (``alertbot/store/reclaim.py``).

**One wait for the disk per message.** Every write is committed at once, so a killed
process loses none of them; but only ``hand_over`` waits for the disk (an fsync, 2-4 ms
on a cloud disk, against microseconds for the write). It is the one write whose loss in
a power cut could send a message twice: the row would come back ``started`` and be
retried although the relay had it. The others are lazy commits
(:func:`~alertbot.store.db.lazy_transaction`), made durable by the next ``hand_over``
(the write-ahead log is flushed in order), and losing one in a power cut only makes the
row's recorded fate more cautious: a ``sent`` lost leaves it ``handed_over``, so
``unknown`` (never resent); a ``start`` lost, an attempt not charged for a message whose
final dot never left. So a row's ``sent`` is durable before the next message's final
dot, as if the two were one transaction, and the duplicate window is what it was. The
write ending a batch's last row waits for the disk itself, so no ``sent`` is left to a
later run. On PostgreSQL ``complete`` (``sent``, the papers' marks, the next row's
``start``) is one statement in autocommit, one round trip instead of six, and its commit
waits like any other: measured on the send loop, a lazy commit of the same statement
(``set_config('synchronous_commit', 'off', true)``) was no faster, since the other
worker's CPU fills the flush's wait.

Papers count as delivered only when their row becomes ``sent`` (``mark_delivered`` in
the same transaction), so a dead digest's papers roll into the next digest.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Text,
    bindparam,
    case,
    delete,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable

from alertbot.model import CLAIMABLE, EndpointKind, Match, OutboxState, SendPhase
from alertbot.store import chosen, learned
from alertbot.store.db import Db, lazy_transaction, transaction, turn_transaction
from alertbot.store.schema import delivered_papers, endpoints, outbox, papers
from alertbot.store.types import UTCDateTime


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
    with engine.begin() as conn:
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


class _Prepared:
    """A hot statement compiled once per dialect and run with ``exec_driver_sql``.

    SQLAlchemy's compiled cache still looks the statement up, builds its parameters and
    an execution context for every run: for these one-row writes, twice what the
    database spends on them. Compiled here once (by the same compiler, so the SQL is
    what ``conn.execute`` would send), each run only converts the values that change
    with the column types' own bind processors; errors still come as SQLAlchemy's.
    ``keys``: the columns an INSERT is given (they decide its column list).
    """

    def __init__(self, stmt: Executable, keys: Sequence[str] | None = None) -> None:
        self._stmt = stmt
        self._keys = keys
        self._by_dialect: dict[str, _Compiled] = {}

    def run(self, conn: Connection, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
        compiled = self._by_dialect.get(conn.dialect.name)
        if compiled is None:
            compiled = self._by_dialect[conn.dialect.name] = _Compiled(
                self._stmt, conn.dialect, self._keys
            )
        if isinstance(params, list):
            return conn.exec_driver_sql(compiled.sql, [compiled.bind(p) for p in params])
        return conn.exec_driver_sql(compiled.sql, compiled.bind(params))


class _Compiled:
    def __init__(self, stmt: Executable, dialect: Dialect, keys: Sequence[str] | None) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=keys)  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        # The constants the statement carries (states, phases, literals), converted once.
        processors = {
            name: bind.type.bind_processor(dialect) for name, bind in compiled.binds.items()
        }
        self._processors = {name: p for name, p in processors.items() if p is not None}
        # Those without a value (``bindparam("b_id")``, an INSERT's columns) come per run.
        self._constants = {
            name: self._convert(name, value)
            for name, value in compiled.params.items()
            if not compiled.binds[name].required
        }
        self._order: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if dialect.positional else None
        )

    def _convert(self, name: str, value: Any) -> Any:
        processor = self._processors.get(name)
        return processor(value) if processor is not None and value is not None else value

    def bind(self, params: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        values = dict(self._constants)
        for name, value in params.items():
            values[name] = self._convert(name, value)
        if self._order is None:
            return values
        return tuple(values[name] for name in self._order)


_RUN_START, _RUN_HAND_OVER, _RUN_SENT = _Prepared(_START), _Prepared(_HAND_OVER), _Prepared(_SENT)


def _start(conn: Connection, row: NextRow, worker_id: str) -> bool:
    params = {"b_id": row.id, "b_worker": worker_id, "b_deadline": row.deadline}
    return int(_RUN_START.run(conn, params).rowcount) == 1


def hand_over(db: Db, row_id: int, *, worker_id: str, now: datetime) -> bool:
    """Record, before the message leaves for good, that the far side may soon have it.

    False if the row is no longer this worker's: the caller must then not send it.
    """
    params = {"b_id": row_id, "b_worker": worker_id, "b_now": now}
    if isinstance(db, Engine) and db.dialect.name == "postgresql":
        # One statement, so its own transaction: in autocommit PostgreSQL runs it in one
        # round trip instead of three (BEGIN, UPDATE, COMMIT), its commit as durable.
        with db.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            return int(_RUN_HAND_OVER.run(auto, params).rowcount) == 1
    with turn_transaction(db) as conn:
        return int(_RUN_HAND_OVER.run(conn, params).rowcount) == 1


def complete(
    engine: Engine,
    row: OutboxRow,
    *,
    worker_id: str,
    now: datetime,
    message_id: str | None,
    paper_ids: Sequence[str],
    start_next: NextRow | None = None,
) -> bool:
    """Mark the row sent and its papers delivered (and start ``start_next``), in one
    transaction. False if the row was no longer ours in any way."""
    params = {"b_id": row.id, "b_worker": worker_id, "b_now": now, "b_message_id": message_id}
    if engine.dialect.name == "postgresql":
        # One statement, so one round trip in autocommit (it was six: BEGIN, SET LOCAL,
        # three writes, COMMIT; a worker's client CPU per round trip was 40% of its
        # time). Its commit waits for the WAL flush, like any other (module docstring).
        params |= {
            "b_endpoint": row.endpoint_id,
            "b_papers": list(dict.fromkeys(paper_ids)),
            "b_next": start_next.id if start_next else None,
            "b_deadline": start_next.deadline if start_next else None,
        }
        with engine.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            return int(_RUN_COMPLETE_PG.run(auto, params).scalar_one()) == 1
    # Lazy while the batch goes on: the next row's hand-over, before its final dot, makes
    # this durable. The batch's last row has no such successor, so its commit waits.
    with turn_transaction(engine, wait_for_disk=start_next is None) as conn:
        ours = int(_RUN_SENT.run(conn, params).rowcount) == 1
        marks = _marks(row.endpoint_id, paper_ids, row.id, now)
        if ours and marks:
            _RUN_MARK[False].run(conn, marks)
        if start_next is not None:
            _start(conn, start_next, worker_id)
    return ours


def _complete_statement() -> Executable:
    """``complete`` on PostgreSQL: data-modifying CTEs, which see the same snapshot and
    all run, whether or not the final SELECT reads them."""
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
    started = (
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
    return select(func.count()).select_from(sent).add_cte(marks, started)


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


def mark_delivered(
    db: Db, endpoint_id: int, paper_ids: Iterable[str], outbox_id: int, *, now: datetime
) -> int:
    """Record papers as delivered on the endpoint; duplicates are ignored. Returns rows added.

    Each mark carries the paper's ``first_seen`` (looked up in the same statement), which
    is what the candidates rules ask of delivered papers.
    """
    rows = _marks(endpoint_id, paper_ids, outbox_id, now)
    if not rows:
        return 0
    with transaction(db) as conn:
        # One statement run with many parameter sets: SQLAlchemy batches it into
        # multi-row INSERTs ("insertmanyvalues") and caches its compiled form, which a
        # .values(rows) statement of varying length never hits. RETURNING counts the
        # rows really added (an executemany rowcount is not reliable across drivers).
        stmt = _MARK[conn.dialect.name == "postgresql"]
        return len(conn.execute(stmt, rows).all())


def _marks(
    endpoint_id: int, paper_ids: Iterable[str], outbox_id: int, now: datetime
) -> list[dict[str, Any]]:
    return [
        {"endpoint_id": endpoint_id, "paper_id": pid, "outbox_id": outbox_id, "delivered_at": now,
         "of_paper": pid}
        for pid in dict.fromkeys(paper_ids)
    ]  # fmt: skip


def _mark_statement(dialect: Any, *, counted: bool = True) -> Any:
    first_seen = (
        select(papers.c.first_seen).where(papers.c.id == bindparam("of_paper")).scalar_subquery()
    )
    stmt = dialect.insert(delivered_papers).values(first_seen=first_seen).on_conflict_do_nothing()
    return stmt.returning(delivered_papers.c.paper_id) if counted else stmt


_MARK = {False: _mark_statement(sqlite), True: _mark_statement(postgresql)}
# For ``complete``, which needs no count: a plain executemany, no rows to fetch back.
_MARK_KEYS = ("endpoint_id", "paper_id", "outbox_id", "delivered_at")
_RUN_MARK = {False: _Prepared(_mark_statement(sqlite, counted=False), _MARK_KEYS)}
_RUN_COMPLETE_PG = _Prepared(_complete_statement())


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

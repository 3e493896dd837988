"""Queueing digests: new outbox rows, thousands per statement.

A tick queues a digest per due endpoint (100,000 at a time for a large deployment), so
the rows go in a few thousand per statement, each way the fastest its database has:

* PostgreSQL: the rows are COPYed into a temporary table, then moved with one
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`` (see
  :func:`_insert_postgres`); one JSON document unpacked by ``json_to_recordset`` cost
  half as much again, and SQLAlchemy's multi-row VALUES (``insertmanyvalues``, every
  row's 13 parameters through their type processors) more still.
* SQLite: the driver's own ``executemany`` of plain values (see :func:`_insert_sqlite`),
  where ``json_extract`` per column had cost three times as much.

The values common to every row (the clock) go through the column's own type, so they
are stored exactly as the rest of the store stores them.

The unique key (``uq_outbox_endpoint_date``) makes queueing idempotent; ``RETURNING``
(or, on SQLite, the new rowids) says which rows this call really added, and each
endpoint's ``last_digest_date`` moves forward in the same transaction, so the due
selection (:mod:`alertbot.store.due`) never sees a queued date as due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Date, Integer, bindparam, text

from alertbot.model import Match, OutboxState
from alertbot.store import chosen, learned
from alertbot.store.chosen import dumps
from alertbot.store.db import Db, transaction
from alertbot.store.due import look_again
from alertbot.store.schema import outbox


@dataclass(frozen=True, slots=True)
class NewRow:
    """A digest to queue: what :func:`insert_many` writes for one (endpoint, date).

    The papers chosen, best first (their ids are the row's ``paper_ids``), are either
    ``bare`` (a keyword-ranked digest) or explained ``matches`` (one the learned ranking
    or ``like:`` interests ordered); ``rest`` the ones beyond the cap, bare, for the
    digest's web page.
    """

    subscriber_id: int
    endpoint_id: int
    digest_date: date
    state: OutboxState
    matches: Sequence[Match] = ()
    more: int = 0
    last_error: str | None = None
    rest: chosen.Bare | None = None
    learning: learned.RowLearning | None = None  # None: in keyword order
    bare: chosen.Bare | None = None

    @property
    def paper_ids(self) -> list[str]:
        if self.bare:
            return list(self.bare.paper_ids)
        return [m.paper_id for m in self.matches]

    def matches_column(self, encoder: chosen.MatchEncoder) -> str | None:
        if self.bare:
            return self.bare.encode_matches()
        return encoder.encode(self.matches) if self.matches else None


INSERT_CHUNK = 2000  # rows per statement
_CLOCK = outbox.c.created_at.type  # the queued time, stored as the store stores times

# The one INSERT all three statements below make; each row's own values come in the
# order of _STAGED (see _values), then attempts, next_attempt_at and created_at.
_INSERT = """
INSERT INTO outbox (subscriber_id, endpoint_id, digest_date, state, paper_ids, more,
                    last_error, matches, rest, learning, attempts, next_attempt_at, created_at)
"""
_STAGED = ("s", "e", "d", "st", "p", "m", "err", "ma", "r", "l")
_RETURNING = " ON CONFLICT DO NOTHING RETURNING endpoint_id, digest_date"

# PostgreSQL: the rows are COPYed into a temporary table of the same shape, then moved
# with one INSERT ... SELECT (which can skip what is already queued and say what went
# in, which COPY cannot). A json column keeps its text as written, so the scores are
# stored bit for bit.
_PG_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS outbox_new (
    s int, e int, d date, st text, p json, m int, err text, ma text, r text, l text
) ON COMMIT DROP
"""
# Built from the constants above only (no value is ever put into the text): hence the noqa.
_PG_COPY = f"COPY outbox_new ({', '.join(_STAGED)}) FROM STDIN"
_PG_MOVE = f"{_INSERT}SELECT {', '.join(_STAGED)}, 0, :now, :now FROM outbox_new{_RETURNING}"  # noqa: S608
# Fewer rows than COPY_FROM (a single digest, a small tick) go as one JSON document in
# one statement: the temporary table's creation and drop would cost more than they save.
COPY_FROM = 500
_PG_FEW = (
    f"{_INSERT}SELECT r.s, r.e, r.d, r.st, CAST(r.p AS json), r.m, r.err, r.ma, r.r, r.l,"  # noqa: S608
    " 0, :now, :now FROM json_to_recordset(CAST(:rows AS json))"
    " AS r(s int, e int, d date, st text, p text, m int, err text, ma text, r text, l text)"
    f"{_RETURNING}"
)
_SQLITE_MANY = (
    f"{_INSERT}VALUES ({', '.join('?' for _ in _STAGED)}, 0, ?, ?) ON CONFLICT DO NOTHING"
)

Values = tuple[int, int, str, str, str, int, str | None, str | None, str | None, str | None]


def _values(r: NewRow, encoder: chosen.MatchEncoder) -> Values:
    """One row's own values, in the order of ``_STAGED``; the columns holding JSON as
    the text their encoders wrote (nothing encoded twice)."""
    return (
        r.subscriber_id, r.endpoint_id, r.digest_date.isoformat(), r.state.value,
        dumps(r.paper_ids), r.more, r.last_error, r.matches_column(encoder),
        r.rest.encode() if r.rest else None, learned.encode(r.learning),
    )  # fmt: skip


def insert_many(
    db: Db, rows: Sequence[NewRow], *, now: datetime, advance: bool = True
) -> set[tuple[int, date]]:
    """Queue digests, a few thousand per statement; returns the (endpoint, date) pairs
    added. A pair already in the outbox is skipped (another dispatcher won it).

    ``advance=False`` leaves ``last_digest_date`` to the caller, in the same transaction
    (the tick writes it with the endpoint's next look: ``alertbot.store.due.look_again``).
    """
    added: set[tuple[int, date]] = set()
    encoder = chosen.MatchEncoder()  # one for all the rows: readers share matches
    for start in range(0, len(rows), INSERT_CHUNK):
        part = rows[start : start + INSERT_CHUNK]
        with transaction(db) as conn:
            if conn.dialect.name == "sqlite":
                new = _insert_sqlite(conn, part, now, encoder)
            elif len(part) >= COPY_FROM:
                new = _insert_postgres(conn, part, now, encoder)
            else:
                new = _insert_postgres_few(conn, part, now, encoder)
            if advance:
                look_again(conn, {}, new)  # the one forward-only write of the last date
        added |= new
    return added


def _insert_postgres(
    conn: Connection, rows: Sequence[NewRow], now: datetime, encoder: chosen.MatchEncoder
) -> set[tuple[int, date]]:
    """The rows through COPY and one INSERT ... SELECT: 2.5 s for 100,000 rows of the
    tick's sizes, where one JSON document unpacked by ``json_to_recordset`` took 3.7 s
    (and SQLAlchemy's multi-row VALUES longer still)."""
    conn.exec_driver_sql(_PG_STAGE)
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(_PG_COPY) as copy:
        for r in rows:
            copy.write_row(_values(r, encoder))
    new = _added(conn, _PG_MOVE, {"now": now})
    conn.exec_driver_sql("TRUNCATE outbox_new")  # for the next chunk, if any
    return new


def _insert_postgres_few(
    conn: Connection, rows: Sequence[NewRow], now: datetime, encoder: chosen.MatchEncoder
) -> set[tuple[int, date]]:
    """A few rows as one JSON document, a row an object of its values (the JSON columns
    as their text, in strings), unpacked by ``json_to_recordset``: one round trip."""
    document = dumps([dict(zip(_STAGED, _values(r, encoder), strict=True)) for r in rows])
    return _added(conn, _PG_FEW, {"rows": document, "now": now})


def _insert_sqlite(
    conn: Connection, rows: Sequence[NewRow], now: datetime, encoder: chosen.MatchEncoder
) -> set[tuple[int, date]]:
    """The rows through the driver's own ``executemany``: on SQLite, binding each row's
    values in C costs a third of unpacking one JSON document with ``json_extract`` per
    column (0.9 s against 2.8 s for 100,000 rows of the tick's sizes). It returns no
    rows, so when some were skipped (already queued), which went in is read back:
    SQLite hands out rowids as the largest plus one, so this call's rows are the ones
    with the largest ids, as many as it inserted.

    They are read back after the insert, not counted from the largest id read before
    it: a read before the transaction's first write runs outside it (the driver begins
    it only at that write), so another planner could commit rows in between, and they
    were counted as this one's. After the insert this transaction holds the write lock,
    so nobody else's rows can come in above its own."""
    stamp = _CLOCK.bind_processor(conn.dialect)
    clock = stamp(now) if stamp else now
    values = [(*_values(r, encoder), clock, clock) for r in rows]
    inserted = conn.exec_driver_sql(_SQLITE_MANY, values).rowcount
    if inserted == len(values):
        return {(r.endpoint_id, r.digest_date) for r in rows}
    return _added(
        conn,
        "SELECT endpoint_id, digest_date FROM outbox"
        " WHERE id > (SELECT max(id) FROM outbox) - :inserted",
        {"inserted": inserted},
    )


def _added(conn: Connection, statement: str, params: dict[str, Any]) -> set[tuple[int, date]]:
    """The (endpoint, date) pairs a statement returns; ``:now`` is bound as the store's
    clock column binds it."""
    query = text(statement)
    if "now" in params:
        query = query.bindparams(bindparam("now", type_=_CLOCK))
    found = conn.execute(query.columns(endpoint_id=Integer, digest_date=Date), params)
    return {(r.endpoint_id, r.digest_date) for r in found}


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
    matches: Sequence[Match] | None = None,
    rest: chosen.Bare | None = None,
) -> bool:
    """Queue one digest; False if that (endpoint, date) is already in the outbox.

    ``matches`` (one per paper, in order) are stored for sending; without them the
    papers are sent bare, as a row queued before stored matches would be. ``rest``: the
    matches beyond the cap (for the web page).
    """
    if matches is None:
        matches = [Match(pid, 0.0, ()) for pid in paper_ids]
    elif [m.paper_id for m in matches] != list(paper_ids):
        raise ValueError("matches must be the row's papers, in order")
    row = NewRow(subscriber_id, endpoint_id, digest_date, state, matches, more, last_error, rest)
    return bool(insert_many(db, [row], now=now))

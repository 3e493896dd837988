"""Queueing digests: new outbox rows, thousands per statement.

A tick queues a digest per due endpoint (100,000 at a time for a large deployment), so
the rows go in a few thousand per statement, each way the fastest its database has:

* PostgreSQL: **one JSON document per few thousand rows**, unpacked by the server
  (``json_to_recordset``) in one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING
  RETURNING``: Python builds one document, and the database parses it in C. Measured in
  ``alertbot bench tick`` against SQLAlchemy's multi-row VALUES (``insertmanyvalues``,
  which runs every row's 13 parameters through their type processors).
* SQLite: the driver's own ``executemany`` of plain values (see :func:`_insert_sqlite`),
  where ``json_extract`` per column had cost three times as much.

The values common to every row (the clock) go through the column's own type, so they
are stored exactly as the rest of the store stores them.

The unique key (``uq_outbox_endpoint_date``) makes queueing idempotent; ``RETURNING``
says which rows this call really added, and each endpoint's ``last_digest_date`` moves
forward in the same transaction, so the due selection (:mod:`alertbot.store.due`) never
sees a queued date as due.
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
_SQLITE_CLOCK = outbox.c.created_at.type

# The per-row values travel as one JSON document, a row an object (three of its values
# are JSON themselves, stored as their text); the clock is a parameter.
# json_to_recordset parses each row once (an operator per column parsed the row's text
# again each time: 100 us a row); a json (not jsonb) value keeps its text as written,
# so the scores are stored bit for bit.
_POSTGRES = """
INSERT INTO outbox (subscriber_id, endpoint_id, digest_date, state, paper_ids, more,
                    last_error, matches, rest, learning, attempts, next_attempt_at, created_at)
SELECT r.s, r.e, r.d, r.st, r.p, r.m, r.err, r.ma::text, r.r::text, r.l::text, 0, :now, :now
FROM json_to_recordset(CAST(:rows AS json))
     AS r(s int, e int, d date, st text, p json, m int, err text, ma json, r json, l json)
ON CONFLICT DO NOTHING
RETURNING endpoint_id, digest_date
"""


def _statement() -> Any:
    return (
        text(_POSTGRES)
        .bindparams(bindparam("now", type_=outbox.c.created_at.type))
        .columns(endpoint_id=Integer, digest_date=Date)
    )


def _document(rows: Sequence[NewRow], encoder: chosen.MatchEncoder) -> str:
    """The rows as one JSON array of objects (short keys: s subscriber, e endpoint, d
    date, st state, p papers, m more, err last error, ma matches, r rest, l learning);
    the columns holding JSON go in as the text their encoders wrote (nothing encoded
    twice)."""
    out: list[str] = []
    for r in rows:
        matches = r.matches_column(encoder)
        rest = r.rest.encode() if r.rest else None
        learning = learned.encode(r.learning)
        out.append(
            f'{{"s":{r.subscriber_id},"e":{r.endpoint_id},"d":"{r.digest_date.isoformat()}",'
            f'"st":"{r.state.value}","p":{dumps(r.paper_ids)},"m":{r.more},'
            f'"err":{dumps(r.last_error)},"ma":{matches or "null"},"r":{rest or "null"},'
            f'"l":{learning or "null"}}}'
        )
    return "[" + ",".join(out) + "]"


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
            else:
                document = _document(part, encoder)
                found = conn.execute(_statement(), {"rows": document, "now": now})
                new = {(r.endpoint_id, r.digest_date) for r in found}
            if advance:
                look_again(conn, {}, new)  # the one forward-only write of the last date
        added |= new
    return added


_SQLITE_MANY = """
INSERT INTO outbox (subscriber_id, endpoint_id, digest_date, state, paper_ids, more,
                    last_error, matches, rest, learning, attempts, next_attempt_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
ON CONFLICT DO NOTHING
"""


def _insert_sqlite(
    conn: Connection, rows: Sequence[NewRow], now: datetime, encoder: chosen.MatchEncoder
) -> set[tuple[int, date]]:
    """The rows through the driver's own ``executemany``: on SQLite, binding each row's
    values in C costs a third of unpacking one JSON document with ``json_extract`` per
    column (0.9 s against 2.8 s for 100,000 rows of the tick's sizes). It returns no
    rows, so when some were skipped (already queued), which went in is read back:
    SQLite has one writer, held by this transaction, and hands out rowids as the largest
    plus one, so the rows with an id above the largest before are exactly this call's."""
    stamp = _SQLITE_CLOCK.bind_processor(conn.dialect)
    clock = stamp(now) if stamp else now
    values = [
        (
            r.subscriber_id, r.endpoint_id, r.digest_date.isoformat(), r.state.value,
            dumps(r.paper_ids), r.more, r.last_error, r.matches_column(encoder),
            r.rest.encode() if r.rest else None, learned.encode(r.learning), clock, clock,
        )
        for r in rows
    ]  # fmt: skip
    before = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM outbox").scalar_one()
    if conn.exec_driver_sql(_SQLITE_MANY, values).rowcount == len(values):
        return {(r.endpoint_id, r.digest_date) for r in rows}
    found = conn.execute(
        text("SELECT endpoint_id, digest_date FROM outbox WHERE id > :before").columns(
            endpoint_id=Integer, digest_date=Date
        ),
        {"before": before},
    )
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

"""A reader's digests as the web shows them: one outbox row, and a reader's rows newest
first, a page at a time (``ix_outbox_subscriber_date``).

Only rows that hold papers are a reader's digests: an ``empty`` day, or one planned
``dead`` because the profile did not parse, has nothing to show.

The archive is also where old digests end (:func:`prune_digests`, from the cleanup job):
a row keeps its stored matches, up to 1,000 ranked papers beyond the cap, so at 100,000
readers a year of rows is tens of millions and, with big days, many gigabytes.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, delete, exists, literal, or_, select, tuple_

from alertbot.model import OutboxState
from alertbot.store.db import Db, transaction
from alertbot.store.outbox import OutboxRow, columns, row_from
from alertbot.store.schema import endpoints, outbox


def digest_row(db: Db, outbox_id: int) -> OutboxRow | None:
    """The outbox row ``outbox_id``, whoever it belongs to (the caller checks)."""
    query = (
        select(*columns())
        .join(endpoints, endpoints.c.id == outbox.c.endpoint_id)
        .where(outbox.c.id == outbox_id)
    )
    with transaction(db) as conn:
        found = conn.execute(query).first()
    return row_from(found) if found is not None else None


def reader_rows(
    db: Db, subscriber_id: int, *, limit: int, before: tuple[date, int] | None = None
) -> list[OutboxRow]:
    """Up to ``limit`` of the reader's digests that hold papers, newest first (digest
    date, then row id); ``before`` is the (date, id) of the last row of the previous
    page, so a page is one index range however long the history."""
    query = (
        select(*columns())
        .join(endpoints, endpoints.c.id == outbox.c.endpoint_id)
        .where(
            outbox.c.subscriber_id == subscriber_id,
            outbox.c.state != OutboxState.EMPTY,
            # Rows from before stored matches (0007) hold papers if they were sent.
            or_(outbox.c.matches.is_not(None), outbox.c.state == OutboxState.SENT),
        )
        .order_by(outbox.c.digest_date.desc(), outbox.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        day, row_id = before
        query = query.where(
            tuple_(outbox.c.digest_date, outbox.c.id) < tuple_(literal(day, Date()), row_id)
        )
    with transaction(db) as conn:
        return [row_from(r) for r in conn.execute(query)]


# Done with: sent, or never to be (a profile that did not parse, a day without papers).
# An ``unknown`` row waits for an operator (it may have reached the reader), and a row in
# flight is still being delivered: neither is pruned.
PRUNABLE = (OutboxState.SENT, OutboxState.DEAD, OutboxState.EMPTY)
PRUNE_BATCH = 5_000


def prune_digests(db: Db, *, before: date, batch: int = PRUNE_BATCH) -> int:
    """Delete the digests dated before ``before`` that are done with; returns how many.

    Each endpoint's newest row stays whatever its age: the due selection and the next
    digest's papers start from an endpoint's last digest (``alertbot/store/due.py``,
    ``candidates.py``), which a reader who paused for a year must not lose. The papers'
    marks of a deleted row go with it (``ON DELETE CASCADE``). Deleted ``batch`` rows a
    transaction, so an SQLite writer (the send loop's hand-over) never waits long.
    """
    newer = outbox.alias("newer")
    doomed = (
        select(outbox.c.id)
        .where(
            outbox.c.digest_date < before,
            outbox.c.state.in_(PRUNABLE),
            exists().where(
                newer.c.endpoint_id == outbox.c.endpoint_id,
                newer.c.digest_date > outbox.c.digest_date,
            ),
        )
        .limit(batch)
    )
    statement = delete(outbox).where(outbox.c.id.in_(doomed.scalar_subquery()))
    total = 0
    while True:
        with transaction(db) as conn:
            deleted = int(conn.execute(statement).rowcount or 0)
        total += deleted
        if deleted < batch:
            return total

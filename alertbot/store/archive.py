"""A reader's digests as the web shows them: one outbox row, and a reader's rows newest
first, a page at a time (``ix_outbox_subscriber_date``).

Only rows that hold papers are a reader's digests: an ``empty`` day, or one planned
``dead`` because the profile did not parse, has nothing to show.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, literal, or_, select, tuple_

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

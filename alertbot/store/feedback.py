"""Readers' verdicts on papers: the Slack buttons, the email links, the web page.

One row per (subscriber, paper): a later verdict replaces an earlier one from any
channel, and the same verdict again changes nothing (a double click, a link opened
twice, two workers answering one retried request). The write is one upsert, so two at
once cannot both insert. :mod:`alertbot.learn` trains each reader's ranking on them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from alertbot.model import FEEDBACK_VALUES, FeedbackValue
from alertbot.store.db import Db, transaction
from alertbot.store.schema import feedback

FeedbackChannel = Literal["slack", "email", "web"]
CHANNELS: tuple[FeedbackChannel, ...] = ("slack", "email", "web")

__all__ = [
    "CHANNELS",
    "FeedbackChannel",
    "FeedbackValue",
    "count_feedback",
    "get_feedback",
    "record_feedback",
]


def record_feedback(
    db: Db,
    subscriber_id: int,
    paper_id: str,
    value: FeedbackValue,
    *,
    now: datetime,
    channel: FeedbackChannel = "slack",
) -> bool:
    """Store a subscriber's verdict on a paper; True if it changed what was stored."""
    if value not in FEEDBACK_VALUES:
        raise ValueError(f"unknown feedback {value!r}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown feedback channel {channel!r}")
    with transaction(db) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(feedback).values(
            subscriber_id=subscriber_id, paper_id=paper_id, value=value, at=now, channel=channel
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[feedback.c.subscriber_id, feedback.c.paper_id],
            set_={"value": stmt.excluded.value, "at": stmt.excluded.at, "channel": channel},
            where=feedback.c.value != stmt.excluded.value,
        )
        # RETURNING, not rowcount: psycopg reports -1 for statements with RETURNING, and
        # an upsert whose WHERE is false returns no row.
        return conn.execute(stmt.returning(feedback.c.paper_id)).first() is not None


def get_feedback(db: Db, subscriber_id: int) -> dict[str, FeedbackValue]:
    """paper id -> "useful" | "not_useful" for one subscriber."""
    with transaction(db) as conn:
        rows = conn.execute(
            select(feedback.c.paper_id, feedback.c.value).where(
                feedback.c.subscriber_id == subscriber_id
            )
        )
        return {r.paper_id: r.value for r in rows if r.value in FEEDBACK_VALUES}


def count_feedback(db: Db, subscriber_id: int) -> dict[FeedbackValue, int]:
    """How many papers the subscriber found useful and not useful."""
    with transaction(db) as conn:
        rows = conn.execute(
            select(feedback.c.value, func.count())
            .where(feedback.c.subscriber_id == subscriber_id)
            .group_by(feedback.c.value)
        )
        found = {r[0]: int(r[1]) for r in rows}
    return {value: found.get(value, 0) for value in FEEDBACK_VALUES}

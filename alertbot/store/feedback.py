"""Readers' verdicts on papers: the Slack buttons, the email links, the web page.

One row per (subscriber, paper): a later verdict replaces an earlier one from any
channel, and the same verdict again changes nothing (a double click, a link opened
twice, two workers answering one retried request). The write is one upsert, so two at
once cannot both insert. :mod:`alertbot.learn` trains each reader's ranking on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import case, func, select
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
    "get_feedback_of",
    "judged_enough",
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


def judged_enough(db: Db, *, min_useful: int, min_not_useful: int) -> set[int]:
    """The subscribers with at least ``min_useful`` useful and ``min_not_useful`` not
    useful verdicts: one grouped query, so a tick learns who may be re-ranked at once."""
    useful = func.sum(case((feedback.c.value == "useful", 1), else_=0))
    not_useful = func.sum(case((feedback.c.value == "not_useful", 1), else_=0))
    with transaction(db) as conn:
        rows = conn.execute(
            select(feedback.c.subscriber_id)
            .group_by(feedback.c.subscriber_id)
            .having((useful >= min_useful) & (not_useful >= min_not_useful))
        )
        return {int(r[0]) for r in rows}


FEEDBACK_CHUNK = 500  # subscribers per IN list


def get_feedback_of(db: Db, subscriber_ids: Iterable[int]) -> dict[int, dict[str, FeedbackValue]]:
    """:func:`get_feedback` of many subscribers, a few hundred per query."""
    wanted = sorted(set(subscriber_ids))
    found: dict[int, dict[str, FeedbackValue]] = {sid: {} for sid in wanted}
    with transaction(db) as conn:
        for start in range(0, len(wanted), FEEDBACK_CHUNK):
            part = wanted[start : start + FEEDBACK_CHUNK]
            rows = conn.execute(
                select(feedback.c.subscriber_id, feedback.c.paper_id, feedback.c.value).where(
                    feedback.c.subscriber_id.in_(part)
                )
            )
            for r in rows:
                if r.value in FEEDBACK_VALUES:
                    found[int(r.subscriber_id)][r.paper_id] = r.value
    return found

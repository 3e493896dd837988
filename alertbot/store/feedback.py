"""Readers' verdicts on papers (the useful / not useful buttons of Slack digests).

Stored per (subscriber, paper); ranking does not use them yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import insert, select, update

from alertbot.store.db import Db, transaction
from alertbot.store.schema import feedback

FeedbackValue = Literal["useful", "not_useful"]


def record_feedback(
    db: Db, subscriber_id: int, paper_id: str, value: FeedbackValue, *, now: datetime
) -> None:
    """Store (or change) a subscriber's verdict on a paper."""
    if value not in ("useful", "not_useful"):
        raise ValueError(f"unknown feedback {value!r}")
    with transaction(db) as conn:
        changed = conn.execute(
            update(feedback)
            .where(feedback.c.subscriber_id == subscriber_id, feedback.c.paper_id == paper_id)
            .values(value=value, at=now)
        ).rowcount
        if not changed:
            conn.execute(
                insert(feedback).values(
                    subscriber_id=subscriber_id, paper_id=paper_id, value=value, at=now
                )
            )


def get_feedback(db: Db, subscriber_id: int) -> dict[str, str]:
    """paper id -> "useful" | "not_useful" for one subscriber."""
    with transaction(db) as conn:
        rows = conn.execute(
            select(feedback.c.paper_id, feedback.c.value).where(
                feedback.c.subscriber_id == subscriber_id
            )
        )
        return {r.paper_id: r.value for r in rows}

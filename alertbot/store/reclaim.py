"""Taking back the rows of a lost worker, by how far each attempt had got.

A worker that dies (SIGKILL, a crash, the machine gone) leaves its rows ``sending``.
Once their lease is over, or at once when the caller knows the worker is gone (a
process of this host that no longer exists: ``alertbot/deliver/liveness.py``), each
row goes where its recorded :class:`~alertbot.model.SendPhase` says:

==============  ======================================================================
phase           the row becomes
==============  ======================================================================
none            ``pending``, no attempt charged: claimed, never tried
``started``     ``pending`` with the attempt charged (``dead`` past its deadline)
``handed_over`` ``unknown``: the relay may have it; never sent again by itself
==============  ======================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from alertbot.model import OutboxState, SendPhase
from alertbot.store.db import Db, transaction
from alertbot.store.schema import outbox


def holders(db: Db) -> set[str]:
    """The workers holding rows in ``sending`` (to find the ones that are gone)."""
    with transaction(db) as conn:
        query = select(outbox.c.claimed_by).where(outbox.c.state == OutboxState.SENDING)
        return {str(h) for h in conn.execute(query.distinct()).scalars() if h}


def reclaim(
    db: Db, *, now: datetime, lease_seconds: float, lost_workers: Sequence[str] = ()
) -> int:
    """Rows of lost workers (lease over, or in ``lost_workers``), by their phase; returns
    how many.

    Not started: pending again, no attempt charged (the crash-loop case: a whole claimed
    batch must not pay for the one row in hand). Started: one attempt charged, retried at
    once, or dead past its deadline. Handed over: ``unknown`` (``claimed_by`` kept, so the
    worker, should it still be alive and record the relay's answer, can make it ``sent``).
    """
    lost = (outbox.c.state == OutboxState.SENDING) & (
        (outbox.c.claimed_at < now - timedelta(seconds=lease_seconds))
        | outbox.c.claimed_by.in_(list(lost_workers))
    )
    started = outbox.c.phase == SendPhase.STARTED
    changes: list[tuple[Any, dict[str, Any]]] = [
        (
            outbox.c.phase == SendPhase.HANDED_OVER,
            {
                "state": OutboxState.UNKNOWN,
                "attempts": outbox.c.attempts + 1,
                "last_error": "worker lost after handing the message over; it may have "
                "been delivered (check, then `alertbot deliveries retry ID` if it was not)",
            },
        ),
        (
            started & (outbox.c.deadline_at <= now),
            {
                "state": OutboxState.DEAD,
                "attempts": outbox.c.attempts + 1,
                "last_error": "worker lost during the attempt, past the deadline",
                "claimed_by": None,
                "phase": None,
            },
        ),
        (
            started,
            {
                "state": OutboxState.PENDING,
                "attempts": outbox.c.attempts + 1,
                "last_error": "worker lost during the attempt; tried again",
                "next_attempt_at": now,
                "claimed_by": None,
                "phase": None,
            },
        ),
        (
            outbox.c.phase.is_(None),
            {"state": OutboxState.PENDING, "claimed_at": None, "claimed_by": None},
        ),
    ]
    count = 0
    with transaction(db) as conn:
        for where, values in changes:
            count += int(conn.execute(update(outbox).where(lost, where).values(**values)).rowcount)
    return count

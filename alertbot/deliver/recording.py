"""Recording an attempt's steps as they happen: the hand-over, then the relay's answer.

Each write is what lets a reclaim after a crash know what the far side may have, so
each is made durably before the step after it: a row's hand-over before its final dot,
its ``sent`` with the next row's hand-over or, with none to follow, at once (see
``alertbot/store/attempts.py``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from alertbot.deliver.base import LeaseLost
from alertbot.logs import get_logger
from alertbot.store import attempts
from alertbot.store.prepared import HotConnection

log = get_logger(__name__)

T = TypeVar("T")


class HandOverHook:
    """The ``hand_over`` a channel calls just before the message leaves for good.

    It records the row as handed over, with ``previous`` (the row whose 250 came just
    before) ``sent`` and ``start_next`` started in the same write, or raises
    :class:`LeaseLost` when the row is no longer this worker's (the channel then sends
    nothing). ``called`` tells the worker whether an unexpected failure came before or
    after that point; ``carried``, whether ``previous`` is recorded (its fate is then
    ``previous_ours``). While the database fails, a write carrying a ``previous`` is
    retried for ``seconds``, as :func:`record_sent` retries its own.
    """

    def __init__(
        self,
        engine: Engine | HotConnection,
        row_id: int,
        *,
        worker_id: str,
        now: Callable[[], datetime],
        previous: attempts.Accepted | None = None,
        start_next: attempts.NextRow | None = None,
        seconds: float = 0.0,
    ) -> None:
        self.engine = engine
        self.row_id = row_id
        self.worker_id = worker_id
        self.now = now
        self.previous = previous
        self.start_next = start_next
        self.seconds = seconds
        self.called = False
        self.carried = False
        self.previous_ours: bool | None = None

    def __call__(self) -> None:
        write = functools.partial(
            attempts.hand_over,
            self.engine,
            self.row_id,
            worker_id=self.worker_id,
            now=self.now(),
            previous=self.previous,
            start_next=self.start_next,
        )
        previous = self.previous
        tries = 0

        def counted() -> attempts.HandedOver:
            nonlocal tries
            tries += 1
            return write()

        if previous is None:
            handed = write()
        else:
            handed = _retried(counted, self.seconds, previous.row.id, previous.message_id)
        self.carried = True
        # After a retry, "not ours" may only mean that the failed try recorded it (on
        # PostgreSQL a statement whose answer was lost may have committed): unknown,
        # not taken over, so no warning is logged for it.
        ambiguous = tries > 1 and handed.previous_ours is False
        self.previous_ours = None if ambiguous else handed.previous_ours
        if not handed.ours:
            raise LeaseLost(f"outbox row {self.row_id} was taken over by another worker")
        self.called = True


def record_sent(
    engine: Engine | HotConnection,
    accepted: attempts.Accepted,
    *,
    worker_id: str,
    seconds: float,
) -> bool:
    """Commit ``sent`` for a row no next hand-over will carry; False if the row was
    taken over.

    While the database fails (SQLite locked past ``busy_timeout``, PostgreSQL restarting)
    the commit is retried for ``seconds``, then the error is raised: the worker must stop
    rather than send more it cannot record, and the row, handed over, ends ``unknown``
    once reclaimed (or ``sent``, should this worker record it after all).
    """
    record = functools.partial(attempts.record, engine, accepted, worker_id=worker_id)
    return _retried(record, seconds, accepted.row.id, accepted.message_id)


def _retried(write: Callable[[], T], seconds: float, row_id: int, message_id: str | None) -> T:
    """``write`` (which records a relay's acceptance), retried for ``seconds`` while the
    database fails; then its error is raised, logged."""
    ctx = {"outbox_id": row_id, "message_id": message_id}
    started = time.monotonic()

    def retrying(_state: object) -> None:
        log.warning("the relay accepted the digest but recording it failed; retrying", **ctx)

    try:
        # Tried once before any retry machinery is built: almost every commit succeeds
        # at once, and building tenacity's Retrying cost a tenth of the commit itself.
        return write()
    except SQLAlchemyError as exc:
        retrying(exc)

    retrying_for = Retrying(
        # The window counts from the first try, as if it had been tenacity's.
        stop=stop_after_delay(max(seconds - (time.monotonic() - started), 0.0)),
        wait=wait_exponential(multiplier=0.05, max=2.0),
        retry=retry_if_exception_type(SQLAlchemyError),
        before_sleep=retrying,
        reraise=True,
    )
    try:
        return retrying_for(write)
    except SQLAlchemyError:
        log.error(
            "the relay accepted the digest but the database cannot record it; stopping "
            "(the row will be 'unknown' once reclaimed)",
            **ctx,
        )
        raise

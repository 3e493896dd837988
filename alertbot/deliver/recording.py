"""Recording an attempt's steps as they happen: the hand-over, then the relay's answer.

Each write is what lets a reclaim after a crash know what the far side may have, so
each is made durably, for one row, at the moment it describes (see
``alertbot/store/attempts.py``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from alertbot.deliver.base import LeaseLost
from alertbot.logs import get_logger
from alertbot.store import attempts, outbox
from alertbot.store.prepared import HotConnection

log = get_logger(__name__)


class HandOverHook:
    """The ``hand_over`` a channel calls just before the message leaves for good.

    It records the row as handed over, or raises :class:`LeaseLost` when the row is no
    longer this worker's (the channel then sends nothing). ``called`` tells the worker
    whether an unexpected failure came before or after that point.
    """

    def __init__(
        self,
        engine: Engine | HotConnection,
        row_id: int,
        *,
        worker_id: str,
        now: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.row_id = row_id
        self.worker_id = worker_id
        self.now = now
        self.called = False

    def __call__(self) -> None:
        row_id, worker_id = self.row_id, self.worker_id
        if not attempts.hand_over(self.engine, row_id, worker_id=worker_id, now=self.now()):
            raise LeaseLost(f"outbox row {self.row_id} was taken over by another worker")
        self.called = True


def record_sent(
    engine: Engine | HotConnection,
    row: outbox.OutboxRow,
    *,
    worker_id: str,
    now: datetime,
    message_id: str | None,
    paper_ids: Sequence[str],
    start_next: attempts.NextRow | None,
    seconds: float,
) -> bool:
    """Commit ``sent`` straight after the relay's answer; False if the row was taken over.

    While the database fails (SQLite locked past ``busy_timeout``, PostgreSQL restarting)
    the commit is retried for ``seconds``, then the error is raised: the worker must stop
    rather than send more it cannot record, and the row, handed over, ends ``unknown``
    once reclaimed (or ``sent``, should this worker record it after all).
    """
    ctx = {"outbox_id": row.id, "message_id": message_id}
    started = time.monotonic()
    record = functools.partial(
        attempts.complete,
        engine,
        row,
        worker_id=worker_id,
        now=now,
        message_id=message_id,
        paper_ids=paper_ids,
        start_next=start_next,
    )

    def retrying(_state: object) -> None:
        log.warning("the relay accepted the digest but recording it failed; retrying", **ctx)

    try:
        # Tried once before any retry machinery is built: almost every commit succeeds
        # at once, and building tenacity's Retrying cost a tenth of the commit itself.
        return record()
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
        return retrying_for(record)
    except SQLAlchemyError:
        log.error(
            "the relay accepted the digest but the database cannot record it; stopping "
            "(the row will be 'unknown' once reclaimed)",
            **ctx,
        )
        raise

"""One run of the send loop: its state, and the writes and outcomes it shares between
rows (a release, a 250 recorded when no hand-over is to carry it, a failure, a row taken
over), split from ``worker.py``, which keeps the loop itself."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Engine

from alertbot import metrics
from alertbot.config import Settings
from alertbot.deliver import outcome
from alertbot.deliver.base import Channel, DeliveryError
from alertbot.deliver.compose import Composer
from alertbot.deliver.outcome import HANDLING
from alertbot.deliver.recording import record_sent
from alertbot.deliver.relays import RelayBreakers
from alertbot.deliver.report import Delivery, SendReport
from alertbot.logs import get_logger
from alertbot.model import EndpointKind, OutboxState, Subscriber
from alertbot.store import attempts, outbox
from alertbot.store import endpoints as endpoint_store
from alertbot.store.prepared import HotConnection

log = get_logger("alertbot.deliver.worker")  # the send loop's log, as before the split


@dataclass
class SendRun:
    """What one ``send_due`` run holds between rows."""

    engine: Engine
    settings: Settings
    now: Callable[[], datetime]
    channels: Mapping[EndpointKind, Channel]
    worker_id: str
    compose: Composer
    rng: random.Random
    report: SendReport
    relays: RelayBreakers
    subscribers: dict[int, Subscriber | None] = field(default_factory=dict)
    attempted: set[int] = field(default_factory=set)  # tried in this run: not again
    started: int | None = None  # the row whose start the last write recorded
    # The last row's 250, not yet recorded: the next hand-over carries it (attempts.py).
    pending: attempts.Accepted | None = None
    progress: Callable[[Delivery], None] | None = None
    # The hand-over and ``sent`` writes on one kept connection (store/prepared.py).
    hot: HotConnection | None = None

    @property
    def writes(self) -> Engine | HotConnection:
        """Where the hand-over and ``sent`` are written."""
        return self.hot or self.engine


def relay_of(run: SendRun, row: outbox.OutboxRow) -> str | None:
    channel = run.channels.get(row.kind)
    return channel.relay if channel is not None else None


def release(run: SendRun, rows: list[outbox.OutboxRow], why: str, **ctx: object) -> None:
    settle(run)
    run.started = None  # a released row is started afresh if claimed again
    released = outbox.release(run.engine, [r.id for r in rows], worker_id=run.worker_id)
    log.info(why, released=released, **ctx)


def settle(run: SendRun) -> None:
    """Record the last 250 now, durably, when no hand-over is to carry it."""
    pending, run.pending = run.pending, None
    seconds = run.settings.delivery.record_seconds
    if pending is not None and not record_sent(
        run.writes, pending, worker_id=run.worker_id, seconds=seconds
    ):
        sent_but_taken_over(pending)


def sent_but_taken_over(accepted: attempts.Accepted) -> None:
    row = accepted.row
    ctx = {"outbox_id": row.id, "subscriber_id": row.subscriber_id}
    log.warning("sent, but the row was taken over meanwhile", **ctx, endpoint_id=row.endpoint_id)


def attempt_of(run: SendRun, row: outbox.OutboxRow) -> attempts.NextRow:
    """``row`` as its start records it, with the deadline its first attempt fixes."""
    now = run.now()
    subscriber = run.subscribers.get(row.subscriber_id)
    if row.deadline_at is not None or subscriber is None:
        return attempts.NextRow(row.id, row.deadline_at or now)
    hours = run.settings.delivery.retry_hours
    return attempts.NextRow(
        row.id, outcome.deadline(subscriber, row.digest_date, first_attempt=now, hours=hours)
    )


def taken_over(result: Delivery, ctx: Mapping[str, object]) -> Delivery:
    why = "taken over by another worker (this one's lease ran out); not sent by this one"
    log.warning("row taken over", **ctx)
    return replace(result, state=OutboxState.SENDING, error=why)


def failed(
    run: SendRun,
    row: outbox.OutboxRow,
    result: Delivery,
    exc: DeliveryError,
    ctx: Mapping[str, object],
    attempt: attempts.NextRow,
    start_next: attempts.NextRow | None,
) -> Delivery:
    settle(run)  # a 250 the failed row's hand-over did not carry (it failed before it)
    delivery = run.settings.delivery
    handling = HANDLING[exc.outcome]
    verdict = outcome.after_failure(
        exc.outcome,
        exc.message,
        attempts=row.attempts + 1,
        now=run.now(),
        deadline=attempt.deadline,
        retry_after=exc.retry_after,
        base_seconds=delivery.backoff_base_seconds,
        max_seconds=delivery.backoff_max_seconds,
        jitter=run.rng.random(),
    )
    attempts.fail(
        run.engine,
        row,
        verdict.note,
        state=verdict.state,
        next_attempt_at=verdict.next_attempt_at,
        worker_id=run.worker_id,
        start_next=start_next,
    )
    if handling.disable_endpoint:
        endpoint_store.set_endpoint_active(run.engine, row.endpoint_id, False, reason=exc.message)
        run.subscribers.pop(row.subscriber_id, None)
        log.warning("endpoint disabled", **ctx, reason=exc.message)
    if handling.counts_against_relay:
        run.relays.failed(relay_of(run, row), exc.message)
    metrics.digests_failed.labels(row.kind.value, exc.outcome.value).inc()
    report = log.error if handling.alarm else log.warning
    report(
        "digest not delivered", **ctx, outcome=exc.outcome, state=verdict.state, error=exc.message
    )
    return replace(result, state=verdict.state, error=verdict.note)

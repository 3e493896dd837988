"""Draining the outbox through the channels.

``queue_due`` (``queue.py``) decides *what* goes out (one row per endpoint and local
date, its matches chosen and stored on the row); ``send_due`` decides *when and how*
(claim, render, send, record). Sending is load and render (``compose.py``): the row's
stored matches with their papers, nothing matched again, so a retry sends exactly what
was queued.

The send loop's rules, each for a failure seen in practice:

* one row at a time, each step recorded before it is taken
  (``alertbot/store/attempts.py``): a worker killed at any instant leaves at most one
  row it may have delivered, and that row ends ``unknown``, never sent twice;
* the relay's acceptance is recorded by the next message's hand-over, in the same
  durable write, or at once when no hand-over follows (the batch's last row, a failure,
  a drop, a release, an interruption): one write a message; if the database fails just
  then, recording is retried for ``delivery.record_seconds``, then the worker stops
  (that row will be ``unknown``) rather than sending more that it cannot record;
* a stop request (SIGTERM, Ctrl-C, the service stopping) finishes the message in flight
  and releases the rest of the batch at no cost; nothing sleeps inside a lease (Slack's
  ``Retry-After`` reschedules the row);
* a relay failing at the connection level is left alone after a few failures in a row
  (``relays.py``), and a row is tried at most once per run, so a run always ends.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from alertbot import metrics
from alertbot.config import Settings
from alertbot.deliver.base import (
    Channel,
    DeliveryError,
    LeaseLost,
)
from alertbot.deliver.channels import build_channels, unsubscribe_url_builder
from alertbot.deliver.compose import Composer, with_dm_channel
from alertbot.deliver.liveness import lost_workers
from alertbot.deliver.outcome import Outcome
from alertbot.deliver.recording import HandOverHook
from alertbot.deliver.relays import RelayBreakers
from alertbot.deliver.report import Delivery, SendReport
from alertbot.deliver.send_run import (
    SendRun,
    attempt_of,
    failed,
    relay_of,
    release,
    sent_but_taken_over,
    settle,
    taken_over,
)
from alertbot.links import feedback_links
from alertbot.logs import get_logger
from alertbot.model import (
    EndpointKind,
    OutboxState,
    Paper,
)
from alertbot.render import Renderer
from alertbot.store import attempts, outbox, reclaim
from alertbot.store import papers as paper_store
from alertbot.store import subscribers as subscriber_store
from alertbot.store.chosen import StoredMatchesError
from alertbot.store.learned import StoredLearningError
from alertbot.store.prepared import HotConnection

log = get_logger(__name__)

__all__ = ["Delivery", "SendReport", "send_due"]  # Delivery and SendReport: from report.py


def send_due(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    channels: Mapping[EndpointKind, Channel] | None = None,
    stop: threading.Event | None = None,
    worker_id: str | None = None,
    renderer: Renderer | None = None,
    rng: random.Random | None = None,
    progress: Callable[[Delivery], None] | None = None,
) -> SendReport:
    """Send every deliverable outbox row, batch by batch, until none is left or ``stop``.

    Rows are claimed ``delivery.batch_size`` at a time and sent grouped by channel, so an
    SMTP connection serves a whole batch. ``stop`` is checked between messages: the one
    in flight is finished, the rest of the batch is released for the next run. Each row
    is tried at most once per run. Raises the database's error when the store fails (the
    untried rows are released first when it lets us).
    ``progress`` is told each row's outcome as it is recorded.
    """
    started = time.perf_counter()
    delivery = settings.delivery
    jitter = rng or _RNG
    run = SendRun(
        engine=engine,
        settings=settings,
        now=now,
        channels=build_channels(settings) if channels is None else channels,
        worker_id=worker_id or f"{socket.gethostname()}:{os.getpid()}",
        compose=Composer(
            settings,
            renderer or Renderer(public_url=settings.web.public_url),
            unsubscribe_url=unsubscribe_url_builder(settings),
            feedback_url=feedback_links(settings),
        ),
        rng=jitter,
        report=SendReport(),
        progress=progress,
        relays=RelayBreakers(engine, delivery, now=now, rng=jitter),
        hot=HotConnection(engine),
    )
    stop = stop or threading.Event()
    lost = lost_workers(reclaim.holders(engine), me=run.worker_id)
    run.report.reclaimed = reclaim.reclaim(
        engine, now=now(), lease_seconds=delivery.lease_seconds, lost_workers=lost
    )
    try:
        while not stop.is_set():
            rows = outbox.claim(
                engine,
                now=now(),
                worker_id=run.worker_id,
                limit=delivery.batch_size,
                skip_kinds=run.relays.skipped_kinds(run.channels),
            )
            # Tried once in this run already (no backoff configured): left for the next.
            tried = [r.id for r in rows if r.id in run.attempted]
            outbox.release(engine, tried, worker_id=run.worker_id, state=OutboxState.FAILED)
            fresh = [r for r in rows if r.id not in run.attempted]
            if not fresh:
                break
            _send_batch(run, fresh, stop)
    finally:
        if run.hot is not None:
            run.hot.close()
        # One channel object may serve several kinds (Slack); close each once.
        for channel in {id(c): c for c in run.channels.values()}.values():
            channel.close()
    run.report.total_seconds = time.perf_counter() - started
    return run.report


# Jitter spreads retries; it needs no unpredictability, so the plain PRNG is right.
_RNG = random.Random()


def _send_batch(run: SendRun, rows: list[outbox.OutboxRow], stop: threading.Event) -> None:
    # Grouped by channel so one SMTP connection serves all the batch's emails.
    rows = sorted(rows, key=lambda r: (r.kind.value, r.id))
    wanted = {pid for row in rows for pid in row.paper_ids}
    papers = {pid: sp.paper for pid, sp in paper_store.get_papers(run.engine, wanted).items()}
    # Read afresh for every batch: a reader who unsubscribes during a long drain is seen
    # within one batch, not at the next run.
    run.subscribers = {
        s.id: s
        for s in subscriber_store.list_subscribers(run.engine, ids={r.subscriber_id for r in rows})
    }
    lease = run.settings.delivery.lease_seconds
    renewed = time.monotonic()
    waiting = list(rows)
    run.started = None
    try:
        while waiting:
            row = waiting[0]
            if stop.is_set():
                release(run, waiting, "stop requested, batch released")
                return
            relay = relay_of(run, row)
            if run.relays.is_open(relay):
                held = [r for r in waiting if relay_of(run, r) == relay]
                waiting = [r for r in waiting if relay_of(run, r) != relay]
                release(run, held, "relay left alone, its rows released", relay=relay)
                continue
            if time.monotonic() - renewed > lease / 3:
                # A slow batch must not outlive its lease, or another worker would reclaim it.
                ids = [r.id for r in waiting]
                outbox.renew(run.engine, ids, worker_id=run.worker_id, now=run.now())
                renewed = time.monotonic()
            waiting.pop(0)
            run.attempted.add(row.id)
            following = waiting[0] if waiting else None
            delivered = _deliver(run, row, papers, following)
            run.report.deliveries.append(delivered)
            if run.progress is not None:
                run.progress(delivered)
        settle(run)
    except BaseException:
        # The database failed under us (or we are interrupted). The row in hand keeps the
        # phase it reached, for the reclaim to act on; a 250 not yet recorded gets one
        # more try (no retries: the database may be what failed); the rows not yet
        # touched go back to pending at once instead of waiting out the lease.
        pending, run.pending = run.pending, None
        if pending is not None:
            with contextlib.suppress(SQLAlchemyError):
                attempts.record(run.writes, pending, worker_id=run.worker_id)
        if waiting:
            with contextlib.suppress(SQLAlchemyError):
                outbox.release(run.engine, [r.id for r in waiting], worker_id=run.worker_id)
        raise


def _deliver(
    run: SendRun,
    row: outbox.OutboxRow,
    papers: Mapping[str, Paper],
    following: outbox.OutboxRow | None,
) -> Delivery:
    ctx = {"outbox_id": row.id, "subscriber_id": row.subscriber_id, "endpoint_id": row.endpoint_id}
    # Loaded per batch by _send_batch; absent means deleted since the digest was queued.
    subscriber = run.subscribers.get(row.subscriber_id)
    endpoint = (
        next((e for e in subscriber.endpoints if e.id == row.endpoint_id), None)
        if subscriber
        else None
    )
    name = subscriber.name if subscriber else "?"
    result = Delivery(
        row.id, row.subscriber_id, name, row.endpoint_id, row.kind, row.digest_date, ""
    )
    attempt = attempt_of(run, row)
    # The first row of a batch is started here; each later one by the write that hands
    # over (or ends) its predecessor, which saves a commit per message.
    if run.started != row.id:
        settle(run)
        if not attempts.start(run.engine, attempt, worker_id=run.worker_id):
            return taken_over(result, ctx)
    start_next = attempt_of(run, following) if following else None
    run.started = following.id if following else None
    me = run.worker_id
    if subscriber is None or endpoint is None or not subscriber.active or not endpoint.active:
        settle(run)
        why = "subscriber paused or endpoint disabled since the digest was queued"
        attempts.finish(run.engine, row, OutboxState.DEAD, why, worker_id=me, start_next=start_next)
        log.info("digest dropped", **ctx, reason=why)
        return replace(result, state=OutboxState.DEAD, error=why)
    try:
        digest = run.compose.rebuild(row, subscriber, endpoint, papers)
    except (StoredMatchesError, StoredLearningError) as exc:
        settle(run)
        why = str(exc)
        attempts.finish(run.engine, row, OutboxState.DEAD, why, worker_id=me, start_next=start_next)
        return replace(result, state=OutboxState.DEAD, error=why)
    if digest.is_empty and not run.settings.delivery.send_empty:
        settle(run)
        why = "its papers are no longer stored"
        empty = OutboxState.EMPTY
        attempts.finish(run.engine, row, empty, why, worker_id=me, start_next=start_next)
        return replace(result, state=OutboxState.EMPTY)
    top = digest.items[0].paper.title if digest.items else None
    result = replace(result, n_papers=len(digest.items), more=digest.more, top_paper=top)
    channel = run.channels.get(row.kind)
    hook: HandOverHook | None = None
    try:
        if channel is None:
            raise DeliveryError(f"no {row.kind.value} channel configured")
        addressed = with_dm_channel(run.engine, channel, digest)
        if addressed is not digest:  # the endpoint's new DM channel, for the run's next rows
            digest = addressed
            run.subscribers[digest.subscriber.id] = digest.subscriber
        rendering = time.perf_counter()
        try:
            rendered = run.compose.render(channel, digest, row.id, now=run.now)
        finally:
            run.report.render_seconds += time.perf_counter() - rendering
        sent_at = time.perf_counter()
        try:
            hook = HandOverHook(
                run.writes,
                row.id,
                worker_id=run.worker_id,
                now=run.now,
                previous=run.pending,
                start_next=start_next,
                seconds=run.settings.delivery.record_seconds,
            )
            message_id = channel.send(digest, rendered, outbox_id=row.id, hand_over=hook)
        except (DeliveryError, SQLAlchemyError, LeaseLost):
            raise
        except Exception as exc:
            # A channel bug must not stop the batch or leave the row 'sending' until the
            # lease ends; it counts as transient, or as maybe delivered once the message
            # was handed over, with the traceback logged.
            log.exception("channel failed", **ctx)
            what = Outcome.MAYBE_DELIVERED if hook and hook.called else Outcome.TRANSIENT
            raise DeliveryError(f"{exc.__class__.__name__}: {exc}", what) from exc
        finally:
            run.report.send_seconds += time.perf_counter() - sent_at
            if hook is not None and hook.carried:
                if hook.previous_ours is False and run.pending is not None:
                    sent_but_taken_over(run.pending)
                run.pending = None
    except LeaseLost:
        return taken_over(result, ctx)
    except DeliveryError as exc:
        return failed(run, row, result, exc, ctx, attempt, start_next)
    now = run.now()
    ids = [item.paper.id for item in digest.items]
    if run.pending is not None:  # the channel made no hand-over to carry it (file)
        settle(run)
    run.pending = attempts.Accepted(row, message_id, ids, now)
    if following is None:  # no hand-over to carry it
        settle(run)
    run.relays.succeeded(channel.relay)
    metrics.digests_sent.labels(row.kind.value).inc()
    metrics.delivery_latency.labels(row.kind.value).observe((now - row.created_at).total_seconds())
    log.info("digest sent", **ctx, papers=len(ids), message_id=message_id)
    return replace(result, state=OutboxState.SENT, message_id=message_id)

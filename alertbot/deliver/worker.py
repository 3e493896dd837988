"""Draining the outbox through the channels.

``queue_due`` (``queue.py``) decides *what* goes out (one row per endpoint and local
date, its papers chosen and stored on the row); ``send_due`` decides *when and how*
(claim, render, send, record). A row is re-rendered at send time from the papers stored on it, the
match re-run on them for the highlights, so a retry sends the same papers.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from alertbot import metrics
from alertbot.config import Settings
from alertbot.corpus import load_corpus
from alertbot.deliver.base import Channel, DeliveryError, OpensDirectMessages, Rendered
from alertbot.deliver.email import EmailChannel
from alertbot.deliver.file import FileChannel
from alertbot.deliver.rematch import MatchCache
from alertbot.deliver.slack import SlackChannel, SlackUserChannel, make_client
from alertbot.digest import build_digest
from alertbot.links import feedback_url, unsubscribe_url
from alertbot.logs import get_logger
from alertbot.match import CorpusStats, QueryError
from alertbot.model import Digest, Endpoint, EndpointKind, OutboxState, Paper, Subscriber
from alertbot.render import Renderer
from alertbot.store import outbox
from alertbot.store import papers as paper_store
from alertbot.store import subscribers as subscriber_store

log = get_logger(__name__)


def build_channels(
    settings: Settings, *, slack_client: WebClient | None = None
) -> dict[EndpointKind, Channel]:
    """The channels the settings make usable: email if ``smtp.host``, Slack if a token."""
    channels: dict[EndpointKind, Channel] = {
        EndpointKind.FILE: FileChannel(
            settings.delivery.outbox_dir or settings.data_dir / "outbox",
            from_address=settings.smtp.from_address,
        )
    }
    if settings.smtp.host:
        channels[EndpointKind.EMAIL] = EmailChannel(settings.smtp)
    if slack_client is None and settings.slack.bot_token is not None:
        slack_client = make_client(
            settings.slack.bot_token.get_secret_value(),
            base_url=settings.slack.api_url,
            timeout=settings.http.timeout_seconds,
        )
    if slack_client is not None:
        channels[EndpointKind.SLACK_CHANNEL] = SlackChannel(slack_client)
        channels[EndpointKind.SLACK_USER] = SlackUserChannel(slack_client)
    return channels


def unsubscribe_url_builder(settings: Settings) -> Callable[[int, int], str]:
    """``(subscriber id, endpoint id) -> one-click unsubscribe URL`` with a signed token."""
    return lambda sid, eid: unsubscribe_url(settings, sid, eid)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one outbox row in this run."""

    outbox_id: int
    subscriber_id: int
    subscriber: str
    endpoint_id: int
    kind: EndpointKind
    digest_date: date
    state: str
    n_papers: int = 0
    more: int = 0
    top_paper: str | None = None
    error: str | None = None
    message_id: str | None = None


@dataclass
class SendReport:
    """The outcome of one ``send_due`` run."""

    deliveries: list[Delivery] = field(default_factory=list)
    reclaimed: int = 0
    render_seconds: float = 0.0
    send_seconds: float = 0.0
    total_seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """Rows per final state in this run."""
        result: dict[str, int] = {}
        for d in self.deliveries:
            result[d.state] = result.get(d.state, 0) + 1
        return result

    @property
    def ok(self) -> bool:
        """True when nothing failed, died or ended unknown."""
        return not any(
            d.state in (OutboxState.FAILED, OutboxState.DEAD, OutboxState.UNKNOWN)
            for d in self.deliveries
        )


@dataclass
class _Run:
    engine: Engine
    settings: Settings
    now: Callable[[], datetime]
    channels: Mapping[EndpointKind, Channel]
    worker_id: str
    renderer: Renderer
    unsubscribe_url: Callable[[int, int], str]
    rng: random.Random | None
    report: SendReport
    stats: CorpusStats | None = None
    matches: MatchCache | None = None
    subscribers: dict[int, Subscriber | None] = field(default_factory=dict)


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
) -> SendReport:
    """Send every deliverable outbox row, batch by batch, until none is left or ``stop``.

    Rows are claimed ``delivery.batch_size`` at a time and sent grouped by channel, so an
    SMTP connection serves a whole batch. ``stop`` is checked between messages: the one
    in flight is finished, the rest of the batch is released for the next run.
    """
    started = time.perf_counter()
    run = _Run(
        engine=engine,
        settings=settings,
        now=now,
        channels=build_channels(settings) if channels is None else channels,
        worker_id=worker_id or f"{socket.gethostname()}:{os.getpid()}",
        renderer=renderer or Renderer(public_url=settings.web.public_url),
        unsubscribe_url=unsubscribe_url_builder(settings),
        rng=rng,
        report=SendReport(),
    )
    stop = stop or threading.Event()
    delivery = settings.delivery
    run.report.reclaimed = outbox.reclaim_expired(
        engine, now=now(), lease_seconds=delivery.lease_seconds, max_attempts=delivery.max_attempts
    )
    try:
        while not stop.is_set():
            rows = outbox.claim(
                engine, now=now(), worker_id=run.worker_id, limit=delivery.batch_size
            )
            if not rows:
                break
            _send_batch(run, rows, stop)
    finally:
        # One channel object may serve several kinds (Slack); close each once.
        for channel in {id(c): c for c in run.channels.values()}.values():
            channel.close()
    run.report.total_seconds = time.perf_counter() - started
    return run.report


def _send_batch(run: _Run, rows: list[outbox.OutboxRow], stop: threading.Event) -> None:
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
    index = 0
    try:
        for index, row in enumerate(rows):
            if stop.is_set():
                rest = [r.id for r in rows[index:]]
                outbox.release(run.engine, rest, worker_id=run.worker_id)
                log.info("stop requested, batch released", released=len(rest))
                return
            if time.monotonic() - renewed > lease / 3:
                # A slow batch must not outlive its lease, or another worker would reclaim it.
                outbox.renew(
                    run.engine, [r.id for r in rows[index:]], worker_id=run.worker_id, now=run.now()
                )
                renewed = time.monotonic()
            run.report.deliveries.append(_deliver(run, row, papers))
    except BaseException:
        # The database failed under us (or we are interrupted). The row in hand may have
        # been sent, so it stays 'sending' for the lease to sort out; the rows not yet
        # touched go back to pending at once instead of waiting out the lease.
        rest = [r.id for r in rows[index + 1 :]]
        if rest:
            with contextlib.suppress(SQLAlchemyError):
                outbox.release(run.engine, rest, worker_id=run.worker_id)
        raise


def _deliver(run: _Run, row: outbox.OutboxRow, papers: Mapping[str, Paper]) -> Delivery:
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
    if subscriber is None or endpoint is None or not subscriber.active or not endpoint.active:
        why = "subscriber paused or endpoint disabled since the digest was queued"
        outbox.finish(run.engine, row, OutboxState.DEAD, why, worker_id=run.worker_id)
        log.info("digest dropped", **ctx, reason=why)
        return replace(result, state=OutboxState.DEAD, error=why)
    try:
        digest = _rebuild(run, row, subscriber, endpoint, papers)
    except QueryError as exc:
        why = f"profile does not parse: {exc}"
        outbox.finish(run.engine, row, OutboxState.DEAD, why, worker_id=run.worker_id)
        return replace(result, state=OutboxState.DEAD, error=why)
    if digest.is_empty and not run.settings.delivery.send_empty:
        why = "no paper matches the profile any more"
        outbox.finish(run.engine, row, OutboxState.EMPTY, why, worker_id=run.worker_id)
        return replace(result, state=OutboxState.EMPTY)
    top = digest.items[0].paper.title if digest.items else None
    result = replace(result, n_papers=len(digest.items), more=digest.more, top_paper=top)
    channel = run.channels.get(row.kind)
    try:
        if channel is None:
            raise DeliveryError(f"no {row.kind.value} channel configured")
        digest = _with_dm_channel(run, channel, digest)
        rendered = _render(run, channel, digest)
        sent_at = time.perf_counter()
        try:
            message_id = channel.send(digest, rendered, outbox_id=row.id)
        except (DeliveryError, SQLAlchemyError):
            raise
        except Exception as exc:
            # A channel bug must not stop the batch or leave the row 'sending' until the
            # lease ends; it counts as a transient failure, with the traceback logged.
            log.exception("channel failed", **ctx)
            raise DeliveryError(f"{exc.__class__.__name__}: {exc}") from exc
        finally:
            run.report.send_seconds += time.perf_counter() - sent_at
    except DeliveryError as exc:
        return _failed(run, row, result, exc, ctx)
    now = run.now()
    ids = [item.paper.id for item in digest.items]
    if not outbox.complete(
        run.engine, row, worker_id=run.worker_id, now=now, message_id=message_id, paper_ids=ids
    ):
        log.warning("sent, but the row was reclaimed meanwhile", **ctx)
    metrics.digests_sent.labels(row.kind.value).inc()
    metrics.delivery_latency.labels(row.kind.value).observe((now - row.created_at).total_seconds())
    log.info("digest sent", **ctx, papers=len(ids), message_id=message_id)
    return replace(result, state=OutboxState.SENT, message_id=message_id)


def _rebuild(
    run: _Run,
    row: outbox.OutboxRow,
    subscriber: Subscriber,
    endpoint: Endpoint,
    papers: Mapping[str, Paper],
) -> Digest:
    if run.stats is None or run.matches is None:
        run.stats = load_corpus(
            run.engine, now=run.now(), days=run.settings.match.corpus_days
        ).stats
        run.matches = MatchCache(run.stats)
    chosen = [papers[pid] for pid in row.paper_ids if pid in papers]
    digest = build_digest(
        subscriber, endpoint, row.digest_date, chosen, run.stats, matcher=run.matches
    )
    return replace(digest, more=digest.more + row.more)


def _with_dm_channel(run: _Run, channel: Channel, digest: Digest) -> Digest:
    endpoint = digest.endpoint
    if endpoint.kind is not EndpointKind.SLACK_USER or endpoint.slack_dm_channel:
        return digest
    if not isinstance(channel, OpensDirectMessages):
        return digest
    dm = channel.open_dm(endpoint)
    subscriber_store.set_dm_channel(run.engine, endpoint.id, dm)
    endpoint = replace(endpoint, slack_dm_channel=dm)
    subscriber = replace(
        digest.subscriber,
        endpoints=tuple(
            endpoint if e.id == endpoint.id else e for e in digest.subscriber.endpoints
        ),
    )
    run.subscribers[subscriber.id] = subscriber
    return replace(digest, endpoint=endpoint, subscriber=subscriber)


def _render(run: _Run, channel: Channel, digest: Digest) -> Rendered:
    started = time.perf_counter()
    url = run.unsubscribe_url(digest.subscriber.id, digest.endpoint.id)
    try:
        email = (
            run.renderer.email(
                digest,
                unsubscribe_url=url,
                feedback_url=functools.partial(feedback_url, run.settings, digest.subscriber.id),
            )
            if "email" in channel.renders
            else None
        )
        slack = run.renderer.slack(digest) if "slack" in channel.renders else None
    except Exception as exc:  # a template bug must not stop the whole batch
        log.exception("render failed", endpoint_id=digest.endpoint.id)
        raise DeliveryError(f"render failed: {exc.__class__.__name__}: {exc}") from exc
    finally:
        run.report.render_seconds += time.perf_counter() - started
    return Rendered(digest=digest, unsubscribe_url=url, sent_at=run.now(), email=email, slack=slack)


def _failed(
    run: _Run,
    row: outbox.OutboxRow,
    result: Delivery,
    exc: DeliveryError,
    ctx: Mapping[str, object],
) -> Delivery:
    delivery = run.settings.delivery
    if exc.disable:
        subscriber_store.set_endpoint_active(run.engine, row.endpoint_id, False, reason=exc.message)
        run.subscribers.pop(row.subscriber_id, None)
        log.warning("endpoint disabled", **ctx, reason=exc.message)
    state = outbox.fail(
        run.engine,
        row,
        exc.message,
        worker_id=run.worker_id,
        now=run.now(),
        permanent=exc.permanent,
        unknown=exc.unknown,
        max_attempts=delivery.max_attempts,
        base_seconds=delivery.backoff_base_seconds,
        max_seconds=delivery.backoff_max_seconds,
        rng=run.rng,
    )
    metrics.digests_failed.labels(row.kind.value, str(state != OutboxState.FAILED).lower()).inc()
    log.warning("digest not delivered", **ctx, state=state, error=exc.message)
    return replace(result, state=state, error=exc.message)

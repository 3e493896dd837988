"""APScheduler wiring: which job runs when, with the injected clock.

Jobs (explicit ids, ``coalesce=True``, ``max_instances=1``, a deliberate misfire grace):

* ``fetch:<source>`` - each source on its own ``schedule`` (crontab line or
  ``every 30m``), else every ``fetch_interval_minutes``;
* ``fetch-on-start`` - every source once at start; the dispatcher waits for it, so the
  digests due at start (after downtime) are built from fresh listings;
* ``dispatch`` - every ``dispatch_interval_seconds``: queue the due digests, then drain
  the outbox (``send_due`` stops between messages once ``stop`` is set);
* ``cleanup`` - on ``cleanup_cron``: prune the fetch log, old delivered-paper rows and
  old digests;
* ``heartbeat`` - proves the scheduler runs jobs: feeds ``/healthz`` and pings the
  systemd watchdog.

An extra delivery worker (``alertbot run --worker``) has only ``send`` (the
dispatcher without queueing) and ``heartbeat``.

One process per store runs this scheduler; its job store is in memory, never shared.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from alertbot import deliver, metrics, pipeline
from alertbot.config import Settings
from alertbot.config_sections import SourceConfig
from alertbot.logs import get_logger
from alertbot.model import EndpointKind
from alertbot.schedule.health import HealthState
from alertbot.schedule.triggers import parse_schedule
from alertbot.store import fetches
from alertbot.store.accounts import forget_used_links
from alertbot.store.archive import prune_digests
from alertbot.store.marks import prune_delivered
from alertbot.store.outgoing_mail import prune_outgoing_mail
from alertbot.tokens import SIGNIN_MAX_AGE_SECONDS

log = get_logger(__name__)

JOB_DISPATCH = "dispatch"
JOB_SEND = "send"
JOB_CLEANUP = "cleanup"
JOB_HEARTBEAT = "heartbeat"
JOB_FETCH_ON_START = "fetch-on-start"


class Notifier(Protocol):
    """Where sd_notify messages go (``sdnotify.SystemdNotifier`` fits)."""

    def notify(self, state: str) -> Any: ...


class NoNotifier:
    """For when no service manager listens."""

    def notify(self, state: str) -> None:
        return None


def fetch_job_id(source: str) -> str:
    """The job id of a source's scheduled fetch."""
    return f"fetch:{source}"


def source_trigger(source: SourceConfig, settings: Settings) -> BaseTrigger:
    """When ``source`` is fetched: its own schedule, else the default interval."""
    if source.schedule:
        return parse_schedule(source.schedule)
    return IntervalTrigger(minutes=settings.schedule.fetch_interval_minutes, timezone=UTC)


class Jobs:
    """The scheduler's jobs, bound to their dependencies; each is safe to call directly."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        now: Callable[[], datetime],
        health: HealthState,
        stop: threading.Event,
        notifier: Notifier | None = None,
        channels: Mapping[EndpointKind, Any] | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.now = now
        self.health = health
        self.stop = stop
        self.notifier: Notifier = notifier or NoNotifier()
        self.channels = channels
        self.worker_id = worker_id or f"{socket.gethostname()}:run"
        # Set once the start-up fetch is over; the dispatcher waits for it.
        self.fetched_on_start = threading.Event()
        self.scheduler: BackgroundScheduler | None = None
        # What one tick can hand the next: the corpus, the learned ranking's vocabulary
        # and the compiled profiles, each rebuilt only when what it came from changes.
        self.tick_caches = deliver.TickCaches()

    def fetch(self, only: str | None = None) -> None:
        """Fetch one source (or all): a failing source is logged, never raised."""
        if self.stop.is_set():
            metrics.job_runs.labels("fetch", "skipped").inc()
            return
        try:
            outcomes = pipeline.fetch_sources(
                self.engine, self.settings, now=self.now, only=only, stop=self.stop
            )
        except Exception:
            metrics.job_runs.labels("fetch", "error").inc()
            log.exception("fetch failed", source=only or "*")
            return
        # The pipeline logs each source's outcome; this only counts the failures.
        failed = [outcome.source for outcome in outcomes if outcome.status == "error"]
        if failed:
            log.warning("fetch job: sources failed", sources=",".join(failed))
        metrics.job_runs.labels("fetch", "ok").inc()

    def fetch_on_start(self) -> None:
        """Fetch every source once, then let the dispatcher run at once."""
        try:
            self.fetch()
        finally:
            self.fetched_on_start.set()
            if self.scheduler is not None and not self.stop.is_set():
                self.scheduler.modify_job(JOB_DISPATCH, next_run_time=datetime.now(UTC))

    def dispatch(self, *, queue: bool = True) -> None:
        """Queue the digests due now, then send what the outbox holds until ``stop``.

        ``queue=False`` only sends: what extra delivery workers do (``run --worker``).
        """
        if self.stop.is_set() or not self.fetched_on_start.is_set():
            metrics.job_runs.labels("dispatch", "skipped").inc()
            return
        try:
            if queue:
                queued = deliver.queue_due(
                    self.engine, self.settings, now=self.now(), caches=self.tick_caches
                )
                metrics.digests_queued.inc(queued)
                if queued:
                    log.info("digests queued", queued=queued)
            report = deliver.send_due(
                self.engine,
                self.settings,
                now=self.now,
                channels=self.channels,
                stop=self.stop,
                worker_id=self.worker_id,
            )
        except Exception:
            metrics.job_runs.labels("dispatch", "error").inc()
            log.exception("dispatch failed")
            return
        log.debug("dispatch done", report=report)
        metrics.job_runs.labels("dispatch", "ok").inc()

    def cleanup(self) -> None:
        """Prune fetch-log and delivered-paper rows and digests past their retention, the
        outgoing-mail counts past their window, and used sign-in links past their life."""
        now = self.now()
        retention = self.settings.retention
        try:
            n_fetches = fetches.prune_fetch_log(
                self.engine, before=now - timedelta(days=retention.fetch_log_days)
            )
            n_delivered = prune_delivered(
                self.engine, before=now - timedelta(days=retention.delivered_days)
            )
            n_digests = prune_digests(
                self.engine, before=(now - timedelta(days=retention.digest_days)).date()
            )
            n_mail = prune_outgoing_mail(
                self.engine,
                before=now - timedelta(hours=self.settings.outgoing_mail.window_hours),
            )
            # Past its lifetime a link's signature refuses it; its id need not be kept.
            n_links = forget_used_links(
                self.engine, before=now - timedelta(seconds=2 * SIGNIN_MAX_AGE_SECONDS)
            )
        except Exception:
            metrics.job_runs.labels("cleanup", "error").inc()
            log.exception("cleanup failed")
            return
        log.info(
            "cleanup done",
            fetch_log_rows=n_fetches,
            delivered_rows=n_delivered,
            digests=n_digests,
            outgoing_mail_rows=n_mail,
            used_signin_links=n_links,
        )
        metrics.job_runs.labels("cleanup", "ok").inc()

    def heartbeat(self) -> None:
        """Prove the scheduler runs jobs: to /healthz and to systemd's watchdog."""
        self.health.beat(self.now())
        self.notifier.notify("WATCHDOG=1")
        metrics.job_runs.labels("heartbeat", "ok").inc()


def build_scheduler(
    jobs: Jobs, *, heartbeat_seconds: float | None = None, worker: bool = False
) -> BackgroundScheduler:
    """A (not yet started) scheduler holding every job; ``jobs.scheduler`` is set to it.

    ``heartbeat_seconds`` defaults to ``settings.schedule.heartbeat_seconds``; the
    service passes less when systemd's watchdog wants pings more often. ``worker``
    builds an extra delivery worker's scheduler: only sending (no fetch, no queueing,
    no cleanup) and the heartbeat, so several can share a store with the one full
    scheduler.
    """
    settings = jobs.settings
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={
            # A tick missed while the machine slept is run once, not once per miss.
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.schedule.misfire_grace_seconds,
        },
    )
    start = datetime.now(UTC)
    if worker:
        jobs.fetched_on_start.set()
        scheduler.add_job(
            jobs.dispatch,
            IntervalTrigger(seconds=settings.schedule.dispatch_interval_seconds, timezone=UTC),
            kwargs={"queue": False},
            id=JOB_SEND,
            name="send queued digests",
            next_run_time=start,
        )
        _add_heartbeat(scheduler, jobs, heartbeat_seconds, start)
        jobs.scheduler = scheduler
        return scheduler
    for source in settings.sources:
        scheduler.add_job(
            jobs.fetch,
            source_trigger(source, settings),
            kwargs={"only": source.name},
            id=fetch_job_id(source.name),
            name=f"fetch {source.name}",
        )
    if settings.schedule.fetch_on_start and settings.sources:
        scheduler.add_job(
            jobs.fetch_on_start,
            DateTrigger(run_date=start, timezone=UTC),
            id=JOB_FETCH_ON_START,
            name="fetch every source once at start",
        )
    else:
        jobs.fetched_on_start.set()
    # After downtime the due digests go at once, unless the start-up fetch has to come
    # first (it then brings the dispatcher forward itself).
    first_dispatch: dict[str, Any] = (
        {"next_run_time": start} if jobs.fetched_on_start.is_set() else {}
    )
    scheduler.add_job(
        jobs.dispatch,
        IntervalTrigger(seconds=settings.schedule.dispatch_interval_seconds, timezone=UTC),
        id=JOB_DISPATCH,
        name="queue and send due digests",
        **first_dispatch,
    )
    scheduler.add_job(
        jobs.cleanup,
        parse_schedule(settings.schedule.cleanup_cron),
        id=JOB_CLEANUP,
        name="prune old fetch logs, delivered rows and digests",
    )
    _add_heartbeat(scheduler, jobs, heartbeat_seconds, start)
    jobs.scheduler = scheduler
    return scheduler


def _add_heartbeat(
    scheduler: BackgroundScheduler, jobs: Jobs, seconds: float | None, start: datetime
) -> None:
    scheduler.add_job(
        jobs.heartbeat,
        IntervalTrigger(seconds=seconds or jobs.settings.schedule.heartbeat_seconds, timezone=UTC),
        id=JOB_HEARTBEAT,
        name="heartbeat and watchdog",
        next_run_time=start,
    )

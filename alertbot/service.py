"""``alertbot run``: the scheduler and the HTTP app in one process, under systemd.

Threads: uvicorn serves the app from the main thread (it owns the signal handlers
there); APScheduler runs the jobs in its own threads. On SIGTERM or SIGINT uvicorn's
handler also sets ``stop``: the dispatcher sends no new message (``send_due`` finishes
the one in flight), no new job starts, the HTTP server closes, and the process waits
up to ``schedule.shutdown_timeout_seconds`` for running jobs before exiting 0.

sd_notify: ``READY=1`` once both are up, ``WATCHDOG=1`` from the heartbeat job (at
least twice per ``WatchdogSec``), ``STOPPING=1`` when shutting down.

Start-up order: the HTTP port is bound first, so a second ``alertbot run`` on a taken
port stops before it fetches or sends anything; the log then says which channels and
Slack endpoints are on and which are off, and why. Shutdown order: jobs, then Slack's
follow-ups (previews, confirmation emails), then the store, so nothing runs on after
"service stopped".
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

import uvicorn
from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlalchemy import Engine
from starlette.routing import BaseRoute

from alertbot import logs
from alertbot.config import Settings
from alertbot.deliver import build_channels
from alertbot.logs import get_logger
from alertbot.schedule.clock import utcnow
from alertbot.schedule.health import HealthState
from alertbot.schedule.jobs import Jobs, NoNotifier, Notifier, build_scheduler
from alertbot.slack_app import slack_routes, socket_mode
from alertbot.store import connect, migrate
from alertbot.web.app import create_app
from alertbot.web.digest import digest_routes
from alertbot.web.feedback import feedback_routes
from alertbot.web.routes import account_site_routes
from alertbot.web.suggestion import suggestion_routes
from alertbot.web.unsubscribe import unsubscribe_routes

log = get_logger(__name__)


class StartupError(Exception):
    """The service cannot start; the message says what and where, in one line."""


def listen(settings: Settings) -> socket.socket:
    """The HTTP app's socket, bound before anything else starts."""
    host, port = settings.web.host, settings.web.port
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        hint = " (another alertbot run? set web.port)" if exc.errno == errno.EADDRINUSE else ""
        reason = (exc.strerror or str(exc)).lower()
        raise StartupError(f"cannot listen on {host}:{port}: {reason}{hint}") from exc
    sock.set_inheritable(True)
    return sock


def what_is_on(settings: Settings, *, worker: bool) -> list[str]:
    """One line per channel and Slack endpoint: on (and how) or off (and why)."""
    smtp, slack = settings.smtp, settings.slack
    lines = [
        f"email: via {smtp.host}:{smtp.port} ({smtp.security})"
        if smtp.host
        else "email: off (smtp.host is unset); email digests fail until it is set",
        "slack digests: on"
        if slack.bot_token
        else "slack digests: off (slack.bot_token is unset); Slack digests fail until it is set",
    ]
    if worker:
        return lines
    if slack.app_token is not None:
        lines.append("slack /subscribe: over Socket Mode (slack.app_token)")
    elif slack.signing_secret is not None:
        lines.append("slack /subscribe: on /slack/commands and /slack/interactions")
    else:
        lines.append(
            "slack /subscribe: off (no slack.signing_secret or slack.app_token); "
            "/slack/* answers 404"
        )
    return lines


def systemd_notifier() -> Notifier:
    """A notifier on ``$NOTIFY_SOCKET`` when systemd (or a test) listens, else a no-op."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return NoNotifier()
    import sdnotify

    notifier: Notifier = sdnotify.SystemdNotifier()
    return notifier


def heartbeat_seconds(settings: Settings) -> float:
    """The heartbeat interval: the setting, or half of systemd's watchdog if shorter."""
    seconds = float(settings.schedule.heartbeat_seconds)
    # The sd_notify protocol's own variables, set by systemd for WatchdogSec=.
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if usec and usec.isdigit() and int(usec) > 0 and pid in (None, str(os.getpid())):
        seconds = min(seconds, int(usec) / 1_000_000 / 2)
    return max(seconds, 0.5)


def extra_routes(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    background: ThreadPoolExecutor | None = None,
) -> list[BaseRoute]:
    """The Slack endpoints (when Slack is configured over HTTP), the unsubscribe and the
    email feedback pages, the subscribers' account pages, and the digest pages and
    archive."""
    routes: list[BaseRoute] = []
    # With an app token, Slack talks to us over Socket Mode instead of HTTP.
    if settings.slack.signing_secret and not settings.slack.app_token:
        routes.extend(slack_routes(engine, settings, now=now, background=background))
    routes.extend(unsubscribe_routes(engine, settings, now=now))
    routes.extend(feedback_routes(engine, settings, now=now))
    routes.extend(suggestion_routes(engine, settings, now=now))
    routes.extend(account_site_routes(engine, settings, now=now))
    routes.extend(digest_routes(engine, settings, now=now))
    return routes


def start_socket_mode(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    background: ThreadPoolExecutor | None = None,
) -> SocketModeHandler | None:
    """Slack's Socket Mode when ``slack.app_token`` is set; returns the handle to close.

    A failure to connect is logged and the service runs on without Slack commands:
    digests and the unsubscribe pages matter more than ``/subscribe``.
    """
    if settings.slack.app_token is None:
        return None
    log.info("slack socket mode starting")
    try:
        return socket_mode.start(engine, settings, now=now, background=background)
    except Exception as exc:
        log.error(
            "slack socket mode failed to start; /subscribe is unavailable",
            error=f"{exc.__class__.__name__}: {exc}",
        )
        return None


class _Server(uvicorn.Server):
    """uvicorn, telling us when it is up and when a signal asks it to stop."""

    def __init__(
        self, config: uvicorn.Config, *, on_ready: Callable[[], None], on_exit: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self._on_exit = on_exit

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_ready()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)


def _wait_for_jobs(shutdown: Callable[[], None], timeout: float) -> bool:
    """Run ``shutdown`` (which waits for running jobs); False if it overran ``timeout``."""
    waiter = threading.Thread(target=shutdown, name="scheduler-shutdown", daemon=True)
    waiter.start()
    waiter.join(timeout)
    return not waiter.is_alive()


def run(
    settings: Settings,
    *,
    now: Callable[[], datetime] = utcnow,
    notifier: Notifier | None = None,
    worker: bool = False,
) -> int:
    """Run the service until SIGTERM/SIGINT; returns the exit code (0 after a clean stop).

    ``worker``: an extra delivery worker - it only sends what the outbox holds (no
    fetching, queueing, cleanup or HTTP app), next to the one full service of the store.
    Raises :class:`StartupError` when the HTTP port cannot be bound (nothing has run).
    """
    logs.configure(settings.log_level, format=settings.log_format)
    notifier = notifier or systemd_notifier()
    stop = threading.Event()
    server: _Server | None = None

    def early_signal(sig: int, frame: FrameType | None) -> None:
        # Before uvicorn runs (and after it restores our handler and re-raises the signal
        # it caught): just ask everything to stop.
        stop.set()
        if server is not None:
            server.should_exit = True

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, early_signal)

    sock = None if worker else listen(settings)
    for line in what_is_on(settings, worker=worker):
        log.info(line)
    engine = connect(
        settings.effective_database_url, busy_timeout=settings.sqlite_busy_timeout_seconds
    )
    try:
        migrate(engine)
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    # Slack's follow-ups run here; shut down before the store, after the jobs.
    background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="slack-work")
    beat = heartbeat_seconds(settings)
    health = HealthState(started_at=now(), heartbeat_timeout=timedelta(seconds=max(3 * beat, 30)))
    jobs = Jobs(
        engine,
        settings,
        now=now,
        health=health,
        stop=stop,
        notifier=notifier,
        channels=build_channels(settings),
        worker_id=f"{os.uname().nodename}:{os.getpid()}",
    )
    scheduler = build_scheduler(jobs, heartbeat_seconds=beat, worker=worker)
    health.scheduler_running = lambda: bool(scheduler.running)

    def ready() -> None:
        notifier.notify("READY=1")
        where = (
            {"role": "worker"} if worker else {"host": settings.web.host, "port": settings.web.port}
        )
        log.info("service ready", **where)

    if not worker:
        routes = extra_routes(engine, settings, now=now, background=background)
        app = create_app(engine, settings, now=now, health=health, routes=routes)
        server = _Server(
            uvicorn.Config(
                app,
                host=settings.web.host,
                port=settings.web.port,
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=5,
            ),
            on_ready=ready,
            on_exit=stop.set,
        )
    scheduler.start()
    socket_handle = (
        None if worker else start_socket_mode(engine, settings, now=now, background=background)
    )
    clean = True
    try:
        if worker:
            ready()
            # early_signal (still installed: no uvicorn here) sets stop.
            while not stop.wait(0.5):
                pass
        elif server is not None and not stop.is_set():
            server.run(sockets=[sock] if sock is not None else None)
    finally:
        stop.set()
        notifier.notify("STOPPING=1")
        log.info("service stopping")
        clean = _wait_for_jobs(
            lambda: scheduler.shutdown(wait=True), settings.schedule.shutdown_timeout_seconds
        )
        if socket_handle is not None:
            socket_handle.close()  # type: ignore[no-untyped-call]
        clean = (
            _wait_for_jobs(
                lambda: background.shutdown(wait=True, cancel_futures=True),
                settings.schedule.shutdown_timeout_seconds,
            )
            and clean
        )
        if sock is not None:
            sock.close()
        for channel in (jobs.channels or {}).values():
            channel.close()
        engine.dispose()
    code = 0 if (worker or (server is not None and server.started)) else 1
    if not clean:
        # A job (a slow fetch) is still running and its thread would hold the process
        # past TimeoutStopSec; whatever it did is in an uncommitted transaction.
        log.warning(
            "jobs still running at shutdown; exiting without them",
            timeout_seconds=settings.schedule.shutdown_timeout_seconds,
        )
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    log.info("service stopped")
    return code

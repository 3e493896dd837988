"""The HTTP app: ``/healthz`` and ``/metrics`` here, the Slack and unsubscribe routes
from their own modules (passed in as ``routes``).

Handlers are plain (sync) functions: Starlette runs them in its thread pool, so the
blocking SQLAlchemy calls do not stall the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from alertbot.config import Settings
from alertbot.logs import get_logger
from alertbot.metrics import REGISTRY
from alertbot.schedule.health import HealthState
from alertbot.store import fetches
from alertbot.store.deliveries import backlog as outbox_backlog
from alertbot.web.headers import SecurityHeaders

log = get_logger(__name__)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def health_report(
    engine: Engine, settings: Settings, *, now: datetime, health: HealthState
) -> tuple[bool, dict[str, Any]]:
    """``(healthy, report)``: the body of ``/healthz`` and whether it is a 200.

    Unhealthy: the scheduler is dead, the database does not answer, or sources are
    configured and none was fetched successfully for ``stale_fetch_hours``, counted
    from the later of the last good fetch and the start of this process (a fresh start
    is not stale before it had the time to fetch).
    """
    problems: list[str] = []
    alive = health.scheduler_alive(now)
    if not alive:
        problems.append("scheduler is not running")
    report: dict[str, Any] = {
        "scheduler_running": alive,
        "started_at": _iso(health.started_at),
        "last_heartbeat": _iso(health.last_heartbeat),
    }
    try:
        latest = {record.source: record for record in fetches.latest_fetches(engine)}
        last_ok = fetches.last_successful_fetch(engine)
        backlog = outbox_backlog(engine, now=now)
    except SQLAlchemyError as exc:
        log.warning("health check cannot read the database", error=exc)
        problems.append(f"database unavailable ({exc.__class__.__name__})")
        report.update(sources=[], outbox=None, last_successful_fetch=None)
    else:
        report["last_successful_fetch"] = _iso(last_ok)
        report["sources"] = [
            {
                "name": source.name,
                "last_fetch": _iso(
                    (latest[source.name].finished_at or latest[source.name].started_at)
                    if source.name in latest
                    else None
                ),
                "status": latest[source.name].status if source.name in latest else None,
            }
            for source in settings.sources
        ]
        report["outbox"] = {
            "counts": dict(backlog.counts),
            "oldest_pending_seconds": backlog.oldest_pending_seconds,
        }
        if settings.sources:
            since = max(last_ok, health.started_at) if last_ok else health.started_at
            threshold = timedelta(hours=settings.schedule.stale_fetch_hours)
            if now - since > threshold:
                problems.append(
                    f"no successful fetch for more than {settings.schedule.stale_fetch_hours:g} h"
                )
    report["status"] = "ok" if not problems else "unhealthy"
    report["problems"] = problems
    return not problems, report


def create_app(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    health: HealthState,
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The service's HTTP app: ``GET /healthz``, ``GET /metrics`` and ``routes``, every
    answer with :mod:`alertbot.web.headers`' security headers."""

    def healthz(request: Request) -> Response:
        healthy, report = health_report(engine, settings, now=now(), health=health)
        return JSONResponse(report, status_code=200 if healthy else 503)

    def metrics(request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *routes,
        ],
        middleware=[Middleware(SecurityHeaders)],
    )

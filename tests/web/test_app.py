"""GET /healthz and GET /metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, insert
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from alertbot.config import Settings
from alertbot.config_sections import SourceConfig
from alertbot.model import EndpointKind, FetchStatus
from alertbot.schedule.health import HealthState
from alertbot.store import schema
from alertbot.store.endpoints import add_endpoint
from alertbot.store.fetches import FetchRecord, record_fetch
from alertbot.store.subscribers import create_subscriber
from alertbot.web.app import create_app
from tests.servers import free_port

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    sources=[SourceConfig(name="hf", location="a"), SourceConfig(name="arxiv", location="b")],
    schedule={"stale_fetch_hours": 26},
)


@contextmanager
def serving(app: Starlette) -> Iterator[httpx.Client]:
    """Run ``app`` with uvicorn on a loopback port; yields a client for it."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.config.port}", timeout=10) as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(10)


def get(
    engine: Engine,
    path: str = "/healthz",
    *,
    started: datetime = NOW,
    running: bool = True,
    settings: Settings = SETTINGS,
    routes: list[Route] | None = None,
    health: HealthState | None = None,
) -> httpx.Response:
    """GET ``path`` from the app over real HTTP, with the clock at NOW."""
    if health is None:
        health = HealthState(started_at=started, scheduler_running=lambda: running)
        health.beat(NOW - timedelta(seconds=10))
    app = create_app(engine, settings, now=lambda: NOW, health=health, routes=routes or [])
    with serving(app) as http:
        return http.get(path)


def fetched(engine: Engine, source: str, hours_ago: float, status: str = "ok") -> None:
    at = NOW - timedelta(hours=hours_ago)
    record_fetch(
        engine,
        FetchRecord(
            source=source, location="x", started_at=at, finished_at=at, status=FetchStatus(status)
        ),
    )


def test_it_is_healthy_right_after_a_fresh_start(sqlite_engine: Engine) -> None:
    """Nothing fetched yet but just started: 200, sources listed without a fetch."""
    response = get(sqlite_engine, started=NOW - timedelta(minutes=1))
    assert response.status_code == 200
    body = response.json()
    assert body["scheduler_running"] is True
    assert body["sources"] == [
        {"name": "hf", "last_fetch": None, "status": None},
        {"name": "arxiv", "last_fetch": None, "status": None},
    ]


def test_it_reports_the_last_fetch_of_each_source(engine: Engine) -> None:
    """Each configured source shows its latest fetch time and status."""
    fetched(engine, "hf", 3)
    fetched(engine, "hf", 1)
    fetched(engine, "arxiv", 2, status="error")
    body = get(engine).json()
    assert body["sources"] == [
        {"name": "hf", "last_fetch": (NOW - timedelta(hours=1)).isoformat(), "status": "ok"},
        {"name": "arxiv", "last_fetch": (NOW - timedelta(hours=2)).isoformat(), "status": "error"},
    ]
    assert body["last_successful_fetch"] == (NOW - timedelta(hours=1)).isoformat()


def test_it_answers_503_when_the_scheduler_is_dead(sqlite_engine: Engine) -> None:
    """A stopped scheduler makes the service unhealthy."""
    response = get(sqlite_engine, running=False)
    assert response.status_code == 503
    assert response.json()["scheduler_running"] is False


def test_it_answers_503_when_the_heartbeat_stopped(sqlite_engine: Engine) -> None:
    """A scheduler that claims to run but ran no job for too long is dead."""
    health = HealthState(
        started_at=NOW - timedelta(hours=1),
        scheduler_running=lambda: True,
        heartbeat_timeout=timedelta(seconds=90),
    )
    health.beat(NOW - timedelta(seconds=91))
    assert get(sqlite_engine, health=health).status_code == 503


@pytest.mark.parametrize(
    ("started_hours_ago", "last_ok_hours_ago", "status"),
    [
        (27, None, 503),  # never fetched, running past the threshold
        (25, None, 200),  # never fetched, but not running that long yet
        (100, 25, 200),  # a recent good fetch
        (100, 27, 503),  # the last good fetch is too old
        (1, 27, 200),  # old fetch, but just restarted: give it time
    ],
)
def test_it_answers_503_when_nothing_was_fetched_for_too_long(
    sqlite_engine: Engine, started_hours_ago: float, last_ok_hours_ago: float | None, status: int
) -> None:
    """Staleness counts from the later of the last good fetch and the process start."""
    if last_ok_hours_ago is not None:
        fetched(sqlite_engine, "hf", last_ok_hours_ago)
    fetched(sqlite_engine, "arxiv", 0.5, status="error")  # failures do not count as fetched
    response = get(sqlite_engine, started=NOW - timedelta(hours=started_hours_ago))
    assert response.status_code == status
    assert (response.json()["status"] == "ok") is (status == 200)


def test_it_does_not_expect_fetches_without_sources(sqlite_engine: Engine) -> None:
    """With no source configured, nothing fetched is not a problem."""
    response = get(sqlite_engine, started=NOW - timedelta(days=30), settings=Settings())
    assert response.status_code == 200


def test_it_reports_the_outbox_backlog(engine: Engine) -> None:
    """Outbox rows are counted by state, with the age of the oldest pending one."""
    subscriber = create_subscriber(engine, name="ada", now=NOW)
    endpoints = [
        add_endpoint(engine, subscriber.id, EndpointKind.FILE, f"/tmp/out{i}", now=NOW)
        for i in range(3)
    ]
    rows = [("pending", 2), ("pending", 1), ("sent", 5)]
    with engine.begin() as conn:
        for endpoint, (state, hours_ago) in zip(endpoints, rows, strict=True):
            at = NOW - timedelta(hours=hours_ago)
            conn.execute(
                insert(schema.outbox).values(
                    subscriber_id=subscriber.id,
                    endpoint_id=endpoint.id,
                    digest_date=date(2026, 6, 1),
                    state=state,
                    attempts=0,
                    next_attempt_at=at,
                    created_at=at,
                    paper_ids=[],
                )
            )
    outbox = get(engine).json()["outbox"]
    assert outbox["counts"]["pending"] == 2
    assert outbox["counts"]["sent"] == 1
    assert outbox["oldest_pending_seconds"] == pytest.approx(2 * 3600, abs=60)


def test_it_serves_prometheus_metrics(sqlite_engine: Engine) -> None:
    """GET /metrics is the Prometheus text format with alertbot's counters."""
    response = get(sqlite_engine, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for name in (
        "alertbot_papers_ingested",
        "alertbot_digests_sent",
        "alertbot_digests_failed",
        "alertbot_fetch_errors",
        "alertbot_delivery_latency_seconds",
        "alertbot_job_runs",
    ):
        assert f"# TYPE {name}" in response.text


def test_it_serves_the_routes_it_is_given(sqlite_engine: Engine) -> None:
    """Extra routes (Slack, unsubscribe) are mounted next to /healthz."""

    def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hi")

    response = get(sqlite_engine, "/hello", routes=[Route("/hello", hello)])
    assert response.text == "hi"

"""The Slack channels against a local HTTP stand-in for the Slack Web API."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from alertbot import metrics
from alertbot.config import Settings
from alertbot.config_sections import DeliverySettings
from alertbot.deliver import SendReport, build_channels, queue_due, send_due
from alertbot.deliver.slack import make_client
from alertbot.model import EndpointKind, Paper
from alertbot.store import deliveries
from alertbot.store import endpoints as endpoint_store
from tests.helpers.delivery import NOW, make_papers, make_settings
from tests.helpers.faults import kill, readers_due_now, start_send, wait_until, write_config
from tests.servers import Reply, SlackStandIn, free_port, slack_api


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """Channel behaviour does not depend on the database: SQLite only here."""
    return sqlite_engine


def run(
    engine: Engine, settings: Settings, slack: SlackStandIn, *, at: Any = NOW, timeout: float = 5
) -> SendReport:
    client = make_client("xoxb-test", base_url=slack.url, timeout=timeout)
    queue_due(engine, settings, now=at)
    channels = build_channels(settings, slack_client=client)
    return send_due(engine, settings, now=lambda: at, channels=channels, worker_id="w1")


def test_it_opens_the_dm_channel_once_and_reuses_it(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """conversations.open is called for the first digest only; the DM id is stored."""
    stock()
    reader = subscribe("Reader", "U123", kind=EndpointKind.SLACK_USER)
    settings = make_settings(tmp_path)
    with slack_api() as slack:
        first = run(engine, settings, slack)
        stock(make_papers(3, prefix="2604"), at=NOW + timedelta(hours=12))
        second = run(engine, settings, slack, at=NOW + timedelta(days=1))
        opened = slack.calls_to("conversations.open")
        posted = slack.calls_to("chat.postMessage")
    assert (first.counts(), second.counts()) == ({"sent": 1}, {"sent": 1})
    assert [c["users"] for c in opened] == ["U123"]
    assert [c["channel"] for c in posted] == ["DU123", "DU123"]
    endpoint = endpoint_store.get_endpoint(engine, reader.endpoints[0].id)
    assert endpoint is not None
    assert endpoint.slack_dm_channel == "DU123"


def test_it_posts_blocks_with_a_text_fallback(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A channel digest is one chat.postMessage with blocks (at most 50) and text."""
    stock()
    subscribe("Team", "C42", kind=EndpointKind.SLACK_CHANNEL)
    with slack_api() as slack:
        report = run(engine, make_settings(tmp_path), slack)
        (call,) = slack.calls_to("chat.postMessage")
    blocks = call["blocks"] if isinstance(call["blocks"], list) else json.loads(call["blocks"])
    assert report.counts() == {"sent": 1}
    assert call["channel"] == "C42"
    assert call["text"].strip()
    assert 0 < len(blocks) <= 50
    assert report.deliveries[0].message_id is not None


def test_it_reschedules_a_429_for_its_retry_after_and_retries_a_500_later(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A 429 is not waited for inside the lease: the row waits for its ``Retry-After`` in
    the outbox; a 500 is retried at the next attempt; the digest is posted once."""
    stock()
    subscribe("Team", "C42", kind=EndpointKind.SLACK_CHANNEL)
    settings = make_settings(tmp_path)
    with slack_api() as slack:
        slack.script(
            "chat.postMessage",
            Reply(
                body={"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": "30"},
            ),
            Reply(body={"ok": False, "error": "internal_error"}, status=500),
        )
        throttled = run(engine, settings, slack)
        (waiting,) = deliveries.list_rows(engine)
        too_soon = run(engine, settings, slack, at=NOW + timedelta(seconds=29))
        later = run(engine, settings, slack, at=NOW + timedelta(seconds=30))
        last = run(engine, settings, slack, at=NOW + timedelta(seconds=30))
        posted = slack.calls_to("chat.postMessage")
    assert [d.state for d in throttled.deliveries] == ["failed"]
    assert waiting.next_attempt_at == NOW + timedelta(seconds=30)
    assert too_soon.deliveries == []
    assert [d.state for d in later.deliveries + last.deliveries] == ["failed", "sent"]
    assert len(posted) == 3


def test_a_retry_after_of_an_hour_on_one_channel_delays_no_other_row(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Slack throttles one channel for an hour: the other channels' digests go out at once
    and the throttled one is posted, once, after the hour."""
    stock()
    for channel in ("C1", "C2", "C3"):
        subscribe(f"Team {channel}", channel, kind=EndpointKind.SLACK_CHANNEL)
    settings = make_settings(tmp_path)
    with slack_api() as slack:
        slack.answer = lambda method, params: (
            Reply(
                body={"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": "3600"},
            )
            if params.get("channel") == "C1"
            and [c["channel"] for c in slack.calls_to(method)].count("C1") == 1
            else None
        )
        reports: list[SendReport] = []
        worker = threading.Thread(
            target=lambda: reports.append(run(engine, settings, slack)), daemon=True
        )
        worker.start()
        worker.join(timeout=15)
        assert not worker.is_alive(), "the batch waited for Retry-After"
        before = run(engine, settings, slack, at=NOW + timedelta(minutes=59))
        after = run(engine, settings, slack, at=NOW + timedelta(minutes=60))
        posted = [c["channel"] for c in slack.calls_to("chat.postMessage")]
    states = {d.subscriber: d.state for d in reports[0].deliveries}
    assert states == {"Team C1": "failed", "Team C2": "sent", "Team C3": "sent"}
    assert (before.deliveries, after.counts()) == ([], {"sent": 1})
    assert sorted(posted) == ["C1", "C1", "C2", "C3"]


def test_it_disables_an_endpoint_whose_channel_is_gone(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """ok:false channel_not_found: the row is dead and the endpoint disabled with the reason."""
    stock()
    reader = subscribe("Team", "C404", kind=EndpointKind.SLACK_CHANNEL)
    with slack_api() as slack:
        slack.script("chat.postMessage", Reply(body={"ok": False, "error": "channel_not_found"}))
        report = run(engine, make_settings(tmp_path), slack)
        assert len(slack.calls_to("chat.postMessage")) == 1
    endpoint = endpoint_store.get_endpoint(engine, reader.endpoints[0].id)
    assert endpoint is not None
    assert [d.state for d in report.deliveries] == ["dead"]
    assert (endpoint.active, endpoint.disabled_reason) == (False, "slack: channel_not_found")


def test_it_does_not_disable_endpoints_when_the_token_is_refused(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """invalid_auth is our configuration's fault: retried later, the endpoint stays on."""
    stock()
    reader = subscribe("Team", "C42", kind=EndpointKind.SLACK_CHANNEL)
    with slack_api() as slack:
        slack.script("chat.postMessage", Reply(body={"ok": False, "error": "invalid_auth"}))
        report = run(engine, make_settings(tmp_path), slack)
        again = run(engine, make_settings(tmp_path), slack)
    endpoint = endpoint_store.get_endpoint(engine, reader.endpoints[0].id)
    assert endpoint is not None
    # The next run's retry (no backoff in these settings) finds the token working again.
    assert [d.state for d in report.deliveries + again.deliveries] == ["failed", "sent"]
    assert "check slack.bot_token" in (report.deliveries[0].error or "")
    assert endpoint.active


def test_it_never_posts_twice_when_slack_answers_after_the_timeout(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Slack took the post but answered after the client gave up: the digest may be in the
    channel, so the row is ``unknown`` and not posted again."""
    stock()
    subscribe("Team", "C42", kind=EndpointKind.SLACK_CHANNEL)
    settings = make_settings(tmp_path)
    labels = {"channel": "slack_channel", "outcome": "maybe_delivered"}
    before = metrics.REGISTRY.get_sample_value("alertbot_digests_failed_total", labels) or 0
    with slack_api() as slack:
        slack.script("chat.postMessage", Reply(delay=2.0))
        report = run(engine, settings, slack, timeout=1)
        again = run(engine, settings, slack, at=NOW + timedelta(hours=1), timeout=1)
        posted = slack.calls_to("chat.postMessage")
    (delivery,) = report.deliveries
    assert delivery.state == "unknown"
    assert "may have been posted" in (delivery.error or "")
    assert again.deliveries == []
    assert len(posted) == 1
    after = metrics.REGISTRY.get_sample_value("alertbot_digests_failed_total", labels)
    assert after == before + 1  # the metric is labelled by outcome


def test_it_retries_when_slack_cannot_be_reached(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Nothing listens at the API address: nothing was posted, so the row is retried."""
    stock()
    subscribe("Team", "C42", kind=EndpointKind.SLACK_CHANNEL)
    settings = make_settings(tmp_path)
    settings.delivery = DeliverySettings(backoff_base_seconds=60)
    client = make_client("xoxb-test", base_url=f"http://127.0.0.1:{free_port()}/api/", timeout=1)
    queue_due(engine, settings, now=NOW)
    channels = build_channels(settings, slack_client=client)
    report = send_due(engine, settings, now=lambda: NOW, channels=channels)
    (delivery,) = report.deliveries
    assert delivery.state == "failed"
    assert "Connection refused" in (delivery.error or "")


def test_a_stop_request_ends_the_worker_within_seconds_while_slack_throttles(
    tmp_path: Path, sqlite_engine: Engine, sqlite_url: str, slack: SlackStandIn
) -> None:
    """`alertbot send` with a channel throttled for an hour and slow answers elsewhere:
    SIGTERM ends it within seconds, the throttled row waits for its hour, the batch's
    untried rows are pending again and nothing is left ``sending``."""
    settings = make_settings(tmp_path)
    now = readers_due_now(
        sqlite_engine, settings, 10, kind=EndpointKind.SLACK_CHANNEL, address=lambda i: f"C{i}"
    )

    def answer(method: str, params: dict[str, Any]) -> Reply | None:
        if params.get("channel") == "C0":
            headers = {"Retry-After": "3600"}
            return Reply(body={"ok": False, "error": "ratelimited"}, status=429, headers=headers)
        return Reply(body={"ok": True, "channel": params.get("channel"), "ts": "1.2"}, delay=0.3)

    slack.answer = answer
    config = write_config(tmp_path / "alertbot.toml", database_url=sqlite_url, slack_url=slack.url)
    process = start_send(config)
    try:
        assert wait_until(lambda: len(slack.calls_to("chat.postMessage")) >= 3, timeout=20)
        process.send_signal(signal.SIGTERM)
        # Seconds against the hour the throttled channel asks for (under 1 s alone; the
        # bound allows a loaded machine running the suite in parallel).
        _, stderr = process.communicate(timeout=15)
    finally:
        kill(process)
    rows = {r.id: r for r in deliveries.list_rows(sqlite_engine)}
    throttled = min(rows.values(), key=lambda r: r.id)
    states = sorted(str(r.state) for r in rows.values())
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert throttled.state == "failed"
    assert throttled.next_attempt_at >= now + timedelta(seconds=3600)
    assert "sending" not in states
    assert "sent" in states
    assert {r.attempts for r in rows.values() if r.state == "pending"} == {0}

"""The Slack channels against a local HTTP stand-in for the Slack Web API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from alertbot.config import DeliverySettings, Settings
from alertbot.deliver import SendReport, build_channels, queue_due, send_due
from alertbot.deliver.slack import make_client
from alertbot.model import EndpointKind, Paper
from alertbot.store import subscribers as subscriber_store
from tests.helpers.delivery import NOW, make_papers, make_settings
from tests.servers import Reply, SlackStandIn, slack_api


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
    endpoint = subscriber_store.get_endpoint(engine, reader.endpoints[0].id)
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


def test_it_waits_for_retry_after_on_429_and_retries_500(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A 429 with Retry-After and a 500 are retried by the client; the digest goes once."""
    stock()
    subscribe("Team", "C42", kind=EndpointKind.SLACK_CHANNEL)
    with slack_api() as slack:
        slack.script(
            "chat.postMessage",
            Reply(
                body={"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            ),
            Reply(body={"ok": False, "error": "internal_error"}, status=500),
        )
        report = run(engine, make_settings(tmp_path), slack)
        posted = slack.calls_to("chat.postMessage")
    assert report.counts() == {"sent": 1}
    assert len(posted) == 3


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
    endpoint = subscriber_store.get_endpoint(engine, reader.endpoints[0].id)
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
    endpoint = subscriber_store.get_endpoint(engine, reader.endpoints[0].id)
    assert endpoint is not None
    # The retry (no backoff in these settings) finds the token working again.
    assert [d.state for d in report.deliveries] == ["failed", "sent"]
    assert "check slack.bot_token" in (report.deliveries[0].error or "")
    assert endpoint.active


def test_it_treats_a_hanging_api_as_transient(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A call that times out leaves the row failed, to be retried after a backoff."""
    stock()
    subscribe("Team", "C42", kind=EndpointKind.SLACK_CHANNEL)
    settings = make_settings(tmp_path)
    settings.delivery = DeliverySettings(backoff_base_seconds=60)
    with slack_api() as slack:
        slack.script("chat.postMessage", *[Reply(delay=2.5)] * 3)
        report = run(engine, settings, slack, timeout=1)
    (delivery,) = report.deliveries
    assert delivery.state == "failed"
    assert "imeout" in (delivery.error or "") or "timed out" in (delivery.error or "")

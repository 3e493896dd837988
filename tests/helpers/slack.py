"""Signed Slack requests against the real ASGI app, as Slack itself sends them."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine
from starlette.testclient import TestClient

from alertbot.config import Settings
from alertbot.model import Paper
from alertbot.schedule.health import HealthState
from alertbot.slack_app import slack_routes
from alertbot.store.papers import upsert_papers
from alertbot.web.app import create_app
from alertbot.web.digest import digest_routes
from alertbot.web.feedback import feedback_routes
from alertbot.web.suggestion import suggestion_routes
from alertbot.web.unsubscribe import unsubscribe_routes
from tests.servers import SlackStandIn

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
SECRET_KEY = "test-secret-key-for-signed-links-0123456789"
PUBLIC_URL = "http://testserver"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@dataclass
class Clock:
    """The app's injected clock; tests move it by hand."""

    at: datetime = START

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def make_settings(tmp_dir: str, slack_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_dir,
        "secret_key": SECRET_KEY,
        "web": {"public_url": PUBLIC_URL},
        # Nothing listens here: tests that send mail point smtp at a real sink instead.
        "smtp": {"host": "127.0.0.1", "port": 9, "security": "none"},
        "slack": {
            "bot_token": "xoxb-test-token",
            "signing_secret": SIGNING_SECRET,
            "api_url": slack_url,
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return Settings(**values)


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature, computed here independently of slack-sdk."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(body: str, *, skew: int = 0, secret: str = SIGNING_SECRET) -> dict[str, str]:
    # Rounded away from now, so the timestamp is at least ``skew`` seconds off when it is
    # checked: int() alone made "301 s ahead" as little as 300 s ahead, inside the window.
    now = time.time()
    ts = math.ceil(now + skew) if skew > 0 else math.floor(now + skew)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(body, ts, secret),
    }


def slack_format(typed: str) -> str:
    """What Slack sends for ``typed``: ``&``, ``<`` and ``>`` as entities.

    (Slack also turns typed addresses, links and mentions into ``<...>`` tokens; tests
    that need those write them in already.)
    """
    return typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def command_body(
    text: str,
    *,
    team: str = "T1",
    user: str = "U1",
    user_name: str = "alice",
    response_url: str = "http://127.0.0.1:9/response/none",
) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": team,
            "team_domain": "example",
            "channel_id": "D1",
            "channel_name": "directmessage",
            "user_id": user,
            "user_name": user_name,
            "command": "/subscribe",
            "text": text,
            "api_app_id": "A1",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


def action_body(
    action_id: str,
    value: str,
    *,
    team: str = "T1",
    user: str = "U1",
    block_id: str = "b1",
    blocks: list[dict[str, Any]] | None = None,
    response_url: str = "http://127.0.0.1:9/response/none",
) -> str:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team, "domain": "example"},
        "user": {"id": user, "username": "alice", "team_id": team},
        "api_app_id": "A1",
        "container": {"type": "message", "channel_id": "D1", "message_ts": "1.2"},
        "channel": {"id": "D1"},
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": "1.3",
            }
        ],
    }
    if blocks is not None:
        payload["message"] = {"type": "message", "text": "digest", "ts": "1.2", "blocks": blocks}
    return urlencode({"payload": json.dumps(payload)})


@dataclass
class SlackSession:
    """Sends signed commands and clicks to the app under test."""

    http: TestClient
    response_url: str
    team: str = "T1"
    user: str = "U1"

    def command(self, typed: str, *, formatted: str | None = None, **kw: Any) -> Any:
        """``/subscribe typed``, sent as Slack sends it (or exactly ``formatted``)."""
        text = slack_format(typed) if formatted is None else formatted
        kw.setdefault("team", self.team)
        kw.setdefault("user", self.user)
        kw.setdefault("response_url", self.response_url)
        body = command_body(text, **kw)
        return self.http.post("/slack/commands", content=body, headers=signed_headers(body))

    def reply(self, typed: str, **kw: Any) -> str:
        """The ephemeral text answered to ``/subscribe typed`` (asserting a 200)."""
        response = self.command(typed, **kw)
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["response_type"] == "ephemeral"
        return str(data["text"])

    def click(self, action_id: str, value: str, **kw: Any) -> Any:
        kw.setdefault("team", self.team)
        kw.setdefault("user", self.user)
        kw.setdefault("response_url", self.response_url)
        body = action_body(action_id, value, **kw)
        return self.http.post("/slack/interactions", content=body, headers=signed_headers(body))


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``predicate`` until it returns something truthy (follow-ups run after the ack)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def paper(pid: str, title: str, abstract: str = "") -> Paper:
    return Paper(
        id=pid,
        title=title,
        abstract=abstract or f"We study {title.lower()} in detail.",
        source_format="test",
        authors=("Ada Lovelace",),
        arxiv_id=pid,
        url=f"https://arxiv.org/abs/{pid}",
    )


RECENT_PAPERS = (
    paper("2603.00001", "Diffusion models for protein design"),
    paper("2603.00002", "A survey of diffusion models"),
    paper("2603.00003", "Graph neural networks at scale"),
    paper("2603.00004", "Sparse attention for long documents"),
)


def store_recent_papers(engine: Engine, now: datetime) -> None:
    upsert_papers(engine, RECENT_PAPERS, source="test", now=now - timedelta(days=1))


@dataclass
class SentConfirmations:
    """Stands in for the email channel's confirmation sender: keeps what it was asked."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, settings: Settings, address: str, confirm_url: str, now: datetime) -> None:
        self.sent.append((address, confirm_url))


@dataclass
class World:
    engine: Engine
    settings: Settings
    clock: Clock
    slack: SlackStandIn
    http: TestClient
    session: SlackSession
    confirmations: SentConfirmations


def build_world(
    engine: Engine,
    tmp_path: Path,
    slack: SlackStandIn,
    /,
    *,
    real_mail: bool = False,
    wall_clock: Callable[[], float] | None = None,
    **overrides: Any,
) -> Iterator[World]:
    """The app; ``real_mail`` leaves confirmation emails to the email channel's own sender;
    ``wall_clock`` replaces the real time Slack signatures are checked against; the other
    keywords override settings (``slack={...}`` included)."""
    settings = make_settings(str(tmp_path / "data"), slack.url, **overrides)
    clock = Clock()
    confirmations = SentConfirmations()
    sender = None if real_mail else confirmations
    routes = [
        *slack_routes(
            engine,
            settings,
            now=clock,
            send_confirmation=sender,
            wall_clock=wall_clock or time.time,
        ),
        *unsubscribe_routes(engine, settings, now=clock),
        *feedback_routes(engine, settings, now=clock),
        *suggestion_routes(engine, settings, now=clock),
        *digest_routes(engine, settings, now=clock),
    ]
    app = create_app(
        engine, settings, now=clock, health=HealthState(started_at=clock()), routes=routes
    )
    with TestClient(app) as http:
        yield World(
            engine=engine,
            settings=settings,
            clock=clock,
            slack=slack,
            http=http,
            session=SlackSession(http, slack.response_url),
            confirmations=confirmations,
        )

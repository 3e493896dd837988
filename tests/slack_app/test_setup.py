"""How the service mounts the Slack app, and the manifest that points Slack at it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine
from starlette.testclient import TestClient

from alertbot.schedule.health import HealthState
from alertbot.service import extra_routes, start_socket_mode
from alertbot.slack_app import slack_routes
from alertbot.slack_app.socket_mode import start
from alertbot.web.app import create_app
from tests.helpers import REPO
from tests.helpers.slack import Clock, command_body, make_settings, signed_headers
from tests.servers import Reply, SlackStandIn

MANIFEST = REPO / "deploy" / "slack-manifest.yml"


def test_it_serves_signed_commands_through_the_services_routes(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """The service's own route list answers a signed list with 200 JSON, a forged one 401."""
    settings = make_settings(str(tmp_path / "data"), slack.url)
    clock = Clock()
    routes = extra_routes(sqlite_engine, settings, now=clock)
    app = create_app(sqlite_engine, settings, now=clock, health=HealthState(clock()), routes=routes)
    body = command_body("list")
    with TestClient(app) as http:
        good = http.post("/slack/commands", content=body, headers=signed_headers(body))
        forged = http.post(
            "/slack/commands", content=body, headers=signed_headers(body, secret="wrong")
        )
        page = http.get("/unsubscribe", params={"token": "nope"})
    assert good.status_code == 200
    assert "Your alertbot subscription" in good.json()["text"]
    assert forged.status_code == 401
    assert page.status_code == 400


def test_it_needs_a_signing_secret_for_http(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Serving Slack over HTTP without a signing secret is refused, never left unverified."""
    settings = make_settings(str(tmp_path / "data"), "http://127.0.0.1:9/api/")
    settings.slack.signing_secret = None
    with pytest.raises(ValueError, match="signing_secret"):
        slack_routes(sqlite_engine, settings, now=Clock())


def test_it_needs_an_app_token_for_socket_mode(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Socket Mode without ``slack.app_token`` is a clear error, not a hang."""
    settings = make_settings(str(tmp_path / "data"), "http://127.0.0.1:9/api/")
    with pytest.raises(ValueError, match="app_token"):
        start(sqlite_engine, settings, now=Clock())


def test_a_socket_mode_that_cannot_connect_leaves_the_service_running(
    sqlite_engine: Engine,
    tmp_path: Path,
    slack: SlackStandIn,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Slack refuses the app token: logged as an error, and the service carries on."""
    settings = make_settings(str(tmp_path / "data"), slack.url, slack={"app_token": "xapp-1-bad"})
    slack.script("apps.connections.open", Reply(body={"ok": False, "error": "invalid_auth"}))
    assert start_socket_mode(sqlite_engine, settings, now=Clock()) is None
    assert slack.calls_to("apps.connections.open")
    # Once `alertbot run` has configured logging, our lines go to stderr, not to caplog.
    logged = caplog.text + capsys.readouterr().err
    assert "socket mode failed to start" in logged
    assert "xapp-1-bad" not in logged


def test_it_ships_a_manifest_with_the_routes_and_minimal_scopes() -> None:
    """The manifest names /subscribe, our two URLs and exactly the four bot scopes."""
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    command = manifest["features"]["slash_commands"][0]
    assert command["command"] == "/subscribe"
    assert command["url"].endswith("/slack/commands")
    assert manifest["settings"]["interactivity"]["request_url"].endswith("/slack/interactions")
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "chat:write",
        "commands",
        "im:write",
        "users:read",
    ]

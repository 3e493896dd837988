"""Fixtures: the real ASGI app on a real store, Slack's Web API on the local stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.servers import SlackStandIn, slack_api
from tests.slack.helpers import World, build_world


@pytest.fixture(scope="session")
def _slack_server() -> Iterator[SlackStandIn]:
    # One stand-in for the session: stopping an http.server takes half a second.
    with slack_api() as stand_in:
        yield stand_in


@pytest.fixture
def slack(_slack_server: SlackStandIn) -> SlackStandIn:
    """The Slack Web API stand-in with no calls, posts or scripts left from other tests."""
    with _slack_server.lock:
        _slack_server.calls.clear()
        _slack_server.responses.clear()
        _slack_server.scripts.clear()
    return _slack_server


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn) -> Iterator[World]:
    """web.create_app with the Slack and unsubscribe routes, on a real SQLite file."""
    yield from build_world(sqlite_engine, tmp_path, slack)


@pytest.fixture
def any_world(engine: Engine, tmp_path: Path, slack: SlackStandIn) -> Iterator[World]:
    """The same app on each backend (SQLite file and PostgreSQL), for the SQL that matters."""
    yield from build_world(engine, tmp_path, slack)

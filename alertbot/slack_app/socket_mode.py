"""Slack over Socket Mode: the app opens a WebSocket to Slack, so no public URL is needed.

Used instead of the HTTP endpoints when ``slack.app_token`` (``xapp-...``, scope
``connections:write``) is set. The service calls :func:`start` and closes the handle on
shutdown.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime

from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.slack_app import build_app, make_deps


def start(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    background: Executor | None = None,
) -> SocketModeHandler:
    """Connect to Slack in the background; ``.close()`` on the result disconnects."""
    if settings.slack.app_token is None:
        raise ValueError("slack.app_token is required for Socket Mode")
    app = build_app(make_deps(engine, settings, now=now, background=background))
    handler = SocketModeHandler(app, settings.slack.app_token.get_secret_value())
    handler.connect()  # type: ignore[no-untyped-call]
    return handler

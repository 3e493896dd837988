"""The same app and stand-ins as the Slack tests."""

from __future__ import annotations

from tests.slack.conftest import _slack_server, any_world, slack, world

__all__ = ["_slack_server", "any_world", "slack", "world"]

"""The channels the settings make usable, and the unsubscribe links they carry."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from alertbot.config import Settings
from alertbot.deliver.base import Channel
from alertbot.deliver.email import EmailChannel
from alertbot.deliver.file import FileChannel
from alertbot.deliver.slack import SlackChannel, SlackUserChannel, make_client
from alertbot.links import unsubscribe_url
from alertbot.model import EndpointKind


def build_channels(
    settings: Settings, *, slack_client: WebClient | None = None
) -> dict[EndpointKind, Channel]:
    """The channels the settings make usable: email if ``smtp.host``, Slack if a token."""
    channels: dict[EndpointKind, Channel] = {
        EndpointKind.FILE: FileChannel(
            settings.delivery.outbox_dir or settings.data_dir / "outbox",
            from_address=settings.smtp.from_address,
        )
    }
    if settings.smtp.host:
        channels[EndpointKind.EMAIL] = EmailChannel(settings.smtp)
    if slack_client is None and settings.slack.bot_token is not None:
        slack_client = make_client(
            settings.slack.bot_token.get_secret_value(),
            base_url=settings.slack.api_url,
            timeout=settings.http.timeout_seconds,
        )
    if slack_client is not None:
        channels[EndpointKind.SLACK_CHANNEL] = SlackChannel(slack_client)
        channels[EndpointKind.SLACK_USER] = SlackUserChannel(slack_client)
    return channels


def unsubscribe_url_builder(settings: Settings) -> Callable[[int, int], str]:
    """``(subscriber id, endpoint id) -> one-click unsubscribe URL`` with a signed token."""
    return lambda sid, eid: unsubscribe_url(settings, sid, eid)

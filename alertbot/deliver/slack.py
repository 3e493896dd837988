"""Slack: digests posted with slack-sdk's ``WebClient`` (``chat.postMessage``).

The client is injected (tests point ``base_url`` at a local stand-in) and retries by
itself: ``RateLimitErrorRetryHandler`` waits the 429's ``Retry-After``,
``ServerErrorRetryHandler`` retries 5xx answers and ``ConnectionErrorRetryHandler``
connection resets. What is left when those give up is classified here.

``ok: false`` errors fall in three groups:

* the endpoint is gone (``channel_not_found``, ``is_archived``, ``not_in_channel``,
  ``user_not_found``...): permanent, and the endpoint is disabled with the error as the
  reason (``subscribers show`` prints it);
* our token is wrong (``invalid_auth``, ``token_revoked``, ``account_inactive``,
  ``missing_scope``...): transient, like an SMTP AUTH failure, and the endpoint is
  **not** disabled. It is our configuration, not this subscriber, that is wrong: one
  mistake would otherwise switch off every Slack subscriber at once, and the digests
  should go out once the token is fixed (until ``delivery.max_attempts`` runs out). It
  is logged as an error for the operator;
* the message is wrong (``invalid_blocks``, ``msg_too_long``...): permanent, a bug to fix.

Anything else (``ratelimited`` after the retries, ``internal_error``, timeouts) is
transient and retried by the outbox with backoff.
"""

from __future__ import annotations

from typing import Any, ClassVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from alertbot.deliver.base import DeliveryError, Rendered
from alertbot.logs import get_logger
from alertbot.model import Digest, Endpoint, EndpointKind

log = get_logger(__name__)

ENDPOINT_GONE = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "user_not_found",
        "user_disabled",
        "users_not_found",
        "cannot_dm_bot",
        "user_not_visible",
        "restricted_action",
        "team_access_not_granted",
    }
)
TOKEN_BROKEN = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "no_permission",
        "ekm_access_denied",
        "org_login_required",
    }
)
MESSAGE_REFUSED = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
        "invalid_arguments",
        "invalid_arg_name",
        "as_user_not_supported",
    }
)


def make_client(token: str, *, base_url: str, timeout: float, max_retries: int = 2) -> WebClient:
    """A WebClient that honours 429 ``Retry-After`` and retries 5xx and connection errors."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=int(max(timeout, 1)),
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=max_retries),
            ServerErrorRetryHandler(max_retry_count=max_retries),
            ConnectionErrorRetryHandler(max_retry_count=max_retries),
        ],
    )


def classify(exc: Exception) -> DeliveryError:
    """The :class:`DeliveryError` for a slack-sdk (or transport) exception."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", 200)
        error = str(response.get("error", "")) if response is not None else ""
        if error in ENDPOINT_GONE:
            return DeliveryError(f"slack: {error}", disable=True)
        if error in TOKEN_BROKEN:
            log.error("slack token refused", error=error)
            return DeliveryError(f"slack: {error} (check slack.bot_token)")
        if error in MESSAGE_REFUSED:
            return DeliveryError(f"slack: {error}", permanent=True)
        return DeliveryError(f"slack: {error or 'HTTP ' + str(status)}")
    return DeliveryError(f"slack: {exc.__class__.__name__}: {exc}")


class SlackChannel:
    """Posts a digest into a Slack channel (the endpoint's address is the channel id)."""

    kind: ClassVar[EndpointKind] = EndpointKind.SLACK_CHANNEL
    renders: ClassVar[frozenset[str]] = frozenset({"slack"})

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def target(self, endpoint: Endpoint) -> str:
        return endpoint.address

    def send(self, digest: Digest, rendered: Rendered, *, outbox_id: int) -> str | None:
        """Post the blocks; returns the message ``ts``. Raises :class:`DeliveryError`."""
        if rendered.slack is None:
            raise ValueError("the digest was not rendered for Slack")
        try:
            response = self.client.chat_postMessage(
                channel=self.target(digest.endpoint),
                text=rendered.slack.text,
                blocks=rendered.slack.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackClientError, OSError) as exc:
            raise classify(exc) from exc
        ts: Any = response.get("ts")
        return str(ts) if ts else None

    def close(self) -> None:
        """Nothing to release: the client opens a connection per call."""


class SlackUserChannel(SlackChannel):
    """Sends a digest as a direct message; the DM channel is opened once per endpoint."""

    kind: ClassVar[EndpointKind] = EndpointKind.SLACK_USER

    def open_dm(self, endpoint: Endpoint) -> str:
        """``conversations.open`` with the user; returns the DM channel id."""
        try:
            response = self.client.conversations_open(users=endpoint.address)
        except (SlackClientError, OSError) as exc:
            raise classify(exc) from exc
        channel: Any = response.get("channel") or {}
        channel_id = channel.get("id") if isinstance(channel, dict) else None
        if not channel_id:
            raise DeliveryError("slack: conversations.open returned no channel")
        return str(channel_id)

    def target(self, endpoint: Endpoint) -> str:
        if not endpoint.slack_dm_channel:
            # The worker opens the DM first (open_dm) and stores it on the endpoint.
            raise DeliveryError("slack: no DM channel opened for this user yet")
        return endpoint.slack_dm_channel

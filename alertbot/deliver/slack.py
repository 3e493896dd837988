"""Slack: digests posted with slack-sdk's ``WebClient`` (``chat.postMessage``).

The client is injected (tests point ``base_url`` at a local stand-in) and makes one
request per call: no retry handler. slack-sdk's would sleep through a 429's
``Retry-After`` inside the row's lease (an hour, with a stop request ignored, and a
second worker free to take the row once the lease ends) and would resend a post whose
connection broke after Slack had it. Failures are classified here instead, into one
:class:`~alertbot.deliver.outcome.Outcome`, and the outbox does the waiting:

* 429 (``ratelimited``): ``rate_limited``; the row waits for its ``Retry-After`` in the
  outbox, and the batch goes on with the other channels;
* the endpoint is gone (``channel_not_found``, ``is_archived``, ``not_in_channel``,
  ``user_not_found``...): ``endpoint_gone``, and the endpoint is disabled with the
  error as the reason (``subscribers show`` prints it);
* our token is wrong (``invalid_auth``, ``token_revoked``, ``account_inactive``,
  ``missing_scope``...): ``credentials_broken``, retried, and the endpoint is **not**
  disabled. It is our configuration, not this subscriber, that is wrong: one mistake
  would otherwise switch off every Slack subscriber at once, and the digests should go
  out once the token is fixed. It is logged as an error for the operator;
* the message is wrong (``invalid_blocks``, ``msg_too_long``...): ``permanent``;
* Slack could not be reached (connection refused, DNS, TLS, a connect timeout: urllib
  raises ``URLError`` before the request is out): ``relay_down``;
* the request went out and no answer came (a read timeout, a reset): the post may be
  in the channel, like SMTP's silence after the final dot, so ``maybe_delivered`` and
  the row ends ``unknown`` rather than being posted twice;
* anything else (``internal_error``, HTTP 5xx): ``transient``.
"""

from __future__ import annotations

from http.client import HTTPException
from typing import Any, ClassVar
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from alertbot.deliver.base import DeliveryError, HandOver, Rendered
from alertbot.deliver.outcome import Outcome
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


def make_client(token: str, *, base_url: str, timeout: float) -> WebClient:
    """A WebClient that makes one request per call (see the module docstring)."""
    return WebClient(
        token=token, base_url=base_url, timeout=int(max(timeout, 1)), retry_handlers=[]
    )


def classify(exc: Exception, *, posting: bool = False) -> DeliveryError:
    """The :class:`DeliveryError` for a slack-sdk (or transport) exception.

    ``posting``: the call was the digest's ``chat.postMessage``, so a request that went
    out unanswered may have posted it.
    """
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", 200)
        error = str(response.get("error", "")) if response is not None else ""
        if status == 429 or error == "ratelimited":
            wait = _retry_after(getattr(response, "headers", None) or {})
            return DeliveryError(
                f"slack: rate limited, retry after {wait or '?'} s",
                Outcome.RATE_LIMITED,
                retry_after=wait,
            )
        if error in ENDPOINT_GONE:
            return DeliveryError(f"slack: {error}", Outcome.ENDPOINT_GONE)
        if error in TOKEN_BROKEN:
            log.error("slack token refused", error=error)
            return DeliveryError(
                f"slack: {error} (check slack.bot_token)", Outcome.CREDENTIALS_BROKEN
            )
        if error in MESSAGE_REFUSED:
            return DeliveryError(f"slack: {error}", Outcome.PERMANENT)
        return DeliveryError(f"slack: {error or 'HTTP ' + str(status)}")
    what = f"slack: {exc.__class__.__name__}: {exc}"
    if isinstance(exc, URLError):
        return DeliveryError(what, Outcome.RELAY_DOWN)
    if posting and isinstance(exc, (OSError, HTTPException)):
        return DeliveryError(
            f"{what}; no answer to the post, it may have been posted", Outcome.MAYBE_DELIVERED
        )
    return DeliveryError(what)


def _retry_after(headers: Any) -> float | None:
    for name, value in dict(headers).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return None


class SlackChannel:
    """Posts a digest into a Slack channel (the endpoint's address is the channel id)."""

    kind: ClassVar[EndpointKind] = EndpointKind.SLACK_CHANNEL
    renders: ClassVar[frozenset[str]] = frozenset({"slack"})

    def __init__(self, client: WebClient) -> None:
        self.client = client

    @property
    def relay(self) -> str:
        return f"slack:{self.client.base_url}"

    def target(self, endpoint: Endpoint) -> str:
        return endpoint.address

    def send(
        self, digest: Digest, rendered: Rendered, *, outbox_id: int, hand_over: HandOver
    ) -> str | None:
        """Post the blocks; returns the message ``ts``. Raises :class:`DeliveryError`."""
        if rendered.slack is None:
            raise ValueError("the digest was not rendered for Slack")
        channel = self.target(digest.endpoint)
        hand_over()
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=rendered.slack.text,
                blocks=rendered.slack.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackClientError, OSError, HTTPException) as exc:
            raise classify(exc, posting=True) from exc
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
        except (SlackClientError, OSError, HTTPException) as exc:
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

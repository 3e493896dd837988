"""What every delivery channel shares: the error type, the protocol, the registry.

A channel turns one rendered digest into one message on the wire. It says whether a
failure is worth retrying by raising :class:`DeliveryError` (in the style of
healthchecks' ``TransportError``): ``permanent`` failures (SMTP 5xx, Slack
``channel_not_found``) are not retried, ``unknown`` ones (the SMTP server went silent
after the final ``.`` of DATA) may have been delivered and are not resent
automatically; everything else is transient and retried with backoff.

Per-channel facts are data on the class (apprise style): ``renders`` says which
renderings the channel needs, so a batch of emails never builds Slack blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

from alertbot.model import Digest, Endpoint, EndpointKind
from alertbot.render import RenderedEmail, SlackMessage


class DeliveryError(Exception):
    """A digest could not be delivered.

    ``permanent``: retrying will not help (the row goes ``dead``). ``unknown``: the
    message may have been delivered (the row goes ``unknown`` and is not resent).
    ``disable``: the endpoint itself is gone (a Slack channel archived, a token
    revoked for that user): the endpoint is disabled with this message as the reason.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        unknown: bool = False,
        disable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent or disable
        self.unknown = unknown
        self.disable = disable


@dataclass(frozen=True, slots=True)
class Rendered:
    """A digest rendered for the channels that need it.

    ``sent_at`` is the moment of sending by the injected clock (the email Date header).
    """

    digest: Digest
    unsubscribe_url: str
    sent_at: datetime
    email: RenderedEmail | None = None
    slack: SlackMessage | None = None


class Channel(Protocol):
    """One way of delivering a digest; built once, reused for a whole batch."""

    kind: ClassVar[EndpointKind]
    renders: ClassVar[frozenset[str]]  # subset of {"email", "slack"}

    def send(self, digest: Digest, rendered: Rendered, *, outbox_id: int) -> str | None:
        """Deliver; return the message id the far end gave (or None). Raises DeliveryError."""
        ...

    def close(self) -> None:
        """Release connections (the channel may be used again afterwards)."""
        ...


@runtime_checkable
class OpensDirectMessages(Protocol):
    """A channel that must open a DM conversation before it can post to a user.

    The worker stores the returned channel id on the endpoint (``set_dm_channel``), so
    ``conversations.open`` is called once per endpoint, not once per digest.
    """

    def open_dm(self, endpoint: Endpoint) -> str: ...

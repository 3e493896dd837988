"""What every delivery channel shares: the error type, the protocol, the registry.

A channel turns one rendered digest into one message on the wire. It says what a
failure means by raising :class:`DeliveryError` with one
:class:`~alertbot.deliver.outcome.Outcome` (in the style of healthchecks'
``TransportError``); ``alertbot.deliver.outcome.HANDLING`` says what follows.

Just before the message leaves for good (SMTP's final dot, Slack's post) the channel
calls the ``hand_over`` hook it is given: the worker records durably there that the
far side may soon have the message, so a worker killed from then on leaves the row
``unknown`` instead of having it sent again. If the hook raises, the channel must not
send: the row is no longer this worker's (:class:`LeaseLost`) or the database failed.

Per-channel facts are data on the class (apprise style): ``renders`` says which
renderings the channel needs, so a batch of emails never builds Slack blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

from alertbot.deliver.outcome import Outcome
from alertbot.model import Digest, Endpoint, EndpointKind
from alertbot.render import RenderedEmail, SlackMessage


class DeliveryError(Exception):
    """A digest could not be delivered, and what that means (``outcome``).

    ``retry_after``: the far side asked to be left alone this many seconds (a 429).
    """

    def __init__(
        self,
        message: str,
        outcome: Outcome = Outcome.TRANSIENT,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.outcome = outcome
        self.retry_after = retry_after


class LeaseLost(Exception):
    """Raised by the ``hand_over`` hook: another worker has taken the row over."""


HandOver = Callable[[], None]


def nothing_to_record() -> None:
    """The ``hand_over`` hook of a message that is not an outbox row (a confirmation)."""


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
    """One way of delivering a digest; built once, reused for a whole batch.

    ``relay`` names the server the channel talks to (its circuit breaker's key), or is
    None for a channel that talks to no server (files).
    """

    kind: ClassVar[EndpointKind]
    renders: ClassVar[frozenset[str]]  # subset of {"email", "slack"}

    @property
    def relay(self) -> str | None: ...

    def send(
        self, digest: Digest, rendered: Rendered, *, outbox_id: int, hand_over: HandOver
    ) -> str | None:
        """Deliver, calling ``hand_over`` just before the message leaves for good; return
        the message id the far end gave (or None). Raises DeliveryError."""
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

"""What the Slack listeners need, built once per app: store, settings, clock, clients."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from slack_sdk import WebClient
from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.corpus import CorpusCache
from alertbot.slack_app.ratelimit import RateLimiter
from alertbot.store.outgoing_mail import MailLimits
from alertbot.subscribers import SubscriberService


class ConfirmationSender(Protocol):
    """Sends the double opt-in email (``alertbot.deliver.confirm.send_confirmation``)."""

    def __call__(
        self, settings: Settings, address: str, confirm_url: str, now: datetime
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class SlackUser:
    """Who sent a command or clicked a button: a user is only ever themselves in one team."""

    team_id: str
    user_id: str
    user_name: str = ""

    @classmethod
    def from_payload(cls, team_id: object, user_id: object, name: object) -> SlackUser | None:
        """The user a (verified) payload names, or None if its ids are missing or odd."""
        if not (isinstance(team_id, str) and isinstance(user_id, str)):
            return None
        if not (0 < len(team_id) <= 32 and 0 < len(user_id) <= 32):
            return None
        return cls(team_id, user_id, str(name or ""))


@dataclass
class SlackDeps:
    engine: Engine
    settings: Settings
    now: Callable[[], datetime]
    client: WebClient
    limiter: RateLimiter
    mail_limits: MailLimits
    send_confirmation: ConfirmationSender | None = None
    corpus: CorpusCache = field(default_factory=CorpusCache)
    # (team, user) -> (time zone from users.info, when it was asked)
    zone_cache: dict[tuple[str, str], tuple[str | None, datetime]] = field(default_factory=dict)
    # Follow-ups (counts, previews, emails) run here, not in Bolt's listener threads, so
    # slow ones never delay the acknowledgement of the next command.
    background: Executor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="slack-work")
    )
    # Every change to a subscriber goes through the service, under these settings' limits.
    subscribers: SubscriberService = field(init=False)

    def __post_init__(self) -> None:
        self.subscribers = SubscriberService(self.engine, self.settings, now=self.now)

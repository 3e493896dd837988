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
from alertbot.slack_app.corpus import CorpusCache
from alertbot.slack_app.ratelimit import RateLimiter


class ConfirmationSender(Protocol):
    """Sends the double opt-in email (``alertbot.deliver.confirm.send_confirmation``)."""

    def __call__(self, settings: Settings, address: str, confirm_url: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SlackUser:
    """Who sent a command or clicked a button: a user is only ever themselves in one team."""

    team_id: str
    user_id: str
    user_name: str = ""


@dataclass
class SlackDeps:
    engine: Engine
    settings: Settings
    now: Callable[[], datetime]
    client: WebClient
    limiter: RateLimiter
    send_confirmation: ConfirmationSender | None = None
    corpus: CorpusCache = field(default_factory=CorpusCache)
    # (team, user) -> (time zone from users.info, when it was asked)
    zone_cache: dict[tuple[str, str], tuple[str | None, datetime]] = field(default_factory=dict)
    # Follow-ups (counts, previews, emails) run here, not in Bolt's listener threads, so
    # slow ones never delay the acknowledgement of the next command.
    background: Executor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="slack-work")
    )

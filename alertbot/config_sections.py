"""The tables of the settings file, one model each (``[smtp]``, ``[delivery]``, ...,
and each ``[[sources]]`` entry), with their defaults, bounds and checks.

:class:`alertbot.config.Settings` composes them and reads the environment, the
credentials and the file; these models only say what a valid table is, so they are
importable (and testable) without loading anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from alertbot.parse import ANNOUNCE_TYPES, FORMATS
from alertbot.schedule.triggers import parse_schedule


class Section(BaseModel):
    """A table of the settings file: a key it does not know is a mistake, not a no-op."""

    model_config = ConfigDict(extra="forbid")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine: localhost, 127.0.0.1 or ::1."""
    return host in ("localhost", "127.0.0.1", "::1")


def check_schedule(text: str) -> str:
    """``text`` if it is a crontab line (5 fields, UTC) or ``every N[s|m|h|d]``."""
    parse_schedule(text)
    return text.strip()


class SourceConfig(Section):
    """One place alertbot pulls listings from."""

    name: str = Field(min_length=1)
    location: str = Field(min_length=1, description="A file, a folder or an http(s) URL.")
    format: str = "auto"
    schedule: str | None = Field(
        default=None,
        description="When the service fetches it: a crontab line ('0 */2 * * *') or "
        "'every 30m' / 'every 2h'. Unset: every fetch_interval_minutes.",
    )
    announce_types: list[str] = Field(
        default_factory=lambda: ["new", "cross"],
        description="Which arXiv announcements to keep: new, cross, replace, replace-cross. "
        "The others are counted as skipped.",
    )

    @field_validator("announce_types")
    @classmethod
    def _known_announce_types(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in ANNOUNCE_TYPES]
        if unknown:
            raise ValueError(
                f"unknown announce type {unknown[0]!r} (choose from {', '.join(ANNOUNCE_TYPES)})"
            )
        return list(dict.fromkeys(value))

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str | None) -> str | None:
        return None if value is None else check_schedule(value)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in FORMATS:
            raise ValueError(f"unknown format {value!r} (choose from {', '.join(FORMATS)})")
        return value


class HttpSettings(Section):
    timeout_seconds: float = 20.0
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)
    max_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    user_agent: str = "alertbot (+https://github.com/alertbot/alertbot)"


class WebSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    preview_days: int = Field(
        default=7,
        ge=1,
        le=60,
        description="The account page's live preview matches the papers of this many days.",
    )


class SmtpSettings(Section):
    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = "alertbot <alertbot@localhost>"
    timeout_seconds: float = 30.0
    ca_file: Path | None = Field(
        default=None, description="Extra CA bundle to trust (a private relay's certificate)."
    )
    unsubscribe_mailto: str | None = None

    @model_validator(mode="after")
    def _none_only_on_loopback(self) -> SmtpSettings:
        # Plain-text SMTP would expose credentials and digests on the wire; it is
        # allowed only for a relay on this very machine.
        if self.security == "none" and self.host is not None and not is_loopback(self.host):
            raise ValueError("smtp.security = 'none' is allowed only for a relay on loopback")
        return self


class SlackSettings(Section):
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_url: str = "https://slack.com/api/"


class DeliverySettings(Section):
    """The outbox: retries until a deadline, leases, relay breakers, batching."""

    retry_hours: float | None = Field(
        default=None,
        gt=0,
        description="How long a digest that keeps failing is retried, from its first "
        "attempt; unset: until that endpoint's next digest is due (its papers then go "
        "into that one).",
    )
    backoff_base_seconds: float = Field(default=60.0, ge=0)
    backoff_max_seconds: float = Field(
        default=1800.0, ge=0, description="The longest wait between two attempts of a digest."
    )
    lease_seconds: int = Field(default=600, ge=10)
    record_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long a worker keeps trying to record a digest the relay accepted "
        "while the database fails, before it stops (the digest is then 'unknown').",
    )
    breaker_failures: int = Field(
        default=3,
        ge=1,
        description="Connection-level failures in a row that stop a relay's batch and "
        "leave the relay alone for a backoff.",
    )
    batch_size: int = Field(default=200, ge=1)
    send_empty: bool = Field(default=False, description="Send a short note on days with no match.")
    outbox_dir: Path | None = Field(
        default=None, description="Folder of the file channel (.eml/.html/.slack.json)."
    )


class MatchSettings(Section):
    corpus_days: int = Field(default=30, ge=1, description="Rolling corpus for term rarity.")
    max_query_length: int = Field(default=500, ge=10)
    max_clauses: int = Field(default=40, ge=1)


class LearnSettings(Section):
    """The learned ranking (alertbot.learn); the fields are ``learn.LearnParams``'s."""

    min_useful: int = Field(default=5, ge=1, description="Useful verdicts before learning.")
    min_not_useful: int = Field(default=5, ge=1, description="Not-useful verdicts before learning.")
    weight: float = Field(
        default=0.7, ge=0.0, le=1.0, description="Share of the model in the order (0: keywords)."
    )
    l2: float = Field(default=0.3, gt=0.0, description="Regularisation of each reader's model.")
    like_threshold: float = Field(
        default=0.2, gt=0.0, le=1.0, description="tf-idf similarity a like: interest needs."
    )


class SubscribeSettings(Section):
    """Limits for self-service subscriptions (the /subscribe command)."""

    max_interests: int = Field(default=25, ge=1)
    max_exclusions: int = Field(default=25, ge=0)
    commands_per_minute: int = Field(default=20, ge=1)
    default_send_time: str = "08:00"


class ScheduleSettings(Section):
    fetch_interval_minutes: int = Field(default=60, ge=1)
    dispatch_interval_seconds: int = Field(default=60, ge=1)
    misfire_grace_seconds: int = Field(default=300, ge=1)
    cleanup_cron: str = "17 3 * * *"
    stale_fetch_hours: float = Field(
        default=26.0, gt=0, description="/healthz answers 503 when no fetch succeeded for longer."
    )
    heartbeat_seconds: int = Field(
        default=30,
        ge=1,
        description="How often a job proves the scheduler alive (and pings the systemd "
        "watchdog, at least twice per WatchdogSec).",
    )
    shutdown_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="On SIGTERM, how long to wait for running jobs (keep below TimeoutStopSec).",
    )
    fetch_on_start: bool = Field(
        default=True, description="Fetch every source once at start, before the first dispatch."
    )

    @field_validator("cleanup_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return check_schedule(value)


class OutgoingMailSettings(Section):
    """Limits on emails sent because someone asked (confirmation links; sign-in links),
    counted in the store so they hold across restarts and processes."""

    per_address: int = Field(default=3, ge=1, description="To one address per window.")
    per_requester: int = Field(
        default=10, ge=1, description="Asked by one requester (a Slack user) per window."
    )
    window_hours: float = Field(default=24.0, gt=0)


class RetentionSettings(Section):
    fetch_log_days: int = Field(default=90, ge=1)
    delivered_days: int = Field(default=365, ge=1)
    digest_days: int = Field(
        default=365,
        ge=1,
        description="Digests (their pages and archive) older than this are deleted, "
        "except each endpoint's newest and any in doubt (unknown).",
    )

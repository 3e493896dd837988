"""Settings: the only module that reads the environment.

Precedence, highest first: ``ALERTBOT_*`` environment variables (``__`` separates
nested keys, e.g. ``ALERTBOT_SMTP__PORT``), secrets in the systemd credentials
directory (``$CREDENTIALS_DIRECTORY``), the TOML file, then the defaults below.

The TOML file is the one given with ``--config``, else ``$ALERTBOT_CONFIG``, else the
first that exists of :data:`DEFAULT_CONFIG_PATHS`.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from alertbot.config_sources import (
    CredentialsSource,
    Loc,
    Origins,
    describe,
    merge,
    toml_lines,
    without,
)
from alertbot.parse import ANNOUNCE_TYPES, FORMATS
from alertbot.schedule.triggers import parse_schedule

ENV_PREFIX = "ALERTBOT_"

DEFAULT_CONFIG_PATHS: tuple[Path, ...] = (
    Path("alertbot.toml"),
    Path("~/.config/alertbot/alertbot.toml").expanduser(),
    Path("/etc/alertbot/alertbot.toml"),
)


class ConfigError(Exception):
    """The configuration cannot be used; the message lists every problem.

    ``problems`` holds them one by one, each with where its value came from
    (``alertbot config check`` prints a line each). ``where`` names the file (or says
    there was none). ``partial`` is the settings with the bad values left at their
    defaults, so the checks that need whole settings can still run; None when even
    that fails. ``bad`` holds the keys already reported.
    """

    def __init__(
        self,
        where: str,
        problems: list[str],
        *,
        partial: Settings | None = None,
        bad: frozenset[Loc] = frozenset(),
    ) -> None:
        super().__init__(f"{where}: " + "; ".join(problems))
        self.where = where
        self.problems = problems
        self.partial = partial
        self.bad = bad


class Section(BaseModel):
    """A table of the settings file: a key it does not know is a mistake, not a no-op."""

    model_config = ConfigDict(extra="forbid")


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


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


class Settings(BaseSettings):
    """Everything alertbot can be told. ``config/alertbot.example.toml`` documents it."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
    )

    # Where each value came from: set by load_settings(), for messages.
    _origins: Origins | None = PrivateAttr(default=None)

    data_dir: Path = Path("./alertbot-data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means an SQLite file in data_dir.",
    )
    sqlite_busy_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long an SQLite statement waits for another process's lock "
        "before the command gives up (exit 75).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs unsubscribe and confirmation links; unset means a key "
        "generated once and kept in data_dir.",
    )
    sources: list[SourceConfig] = Field(default_factory=list)
    http: HttpSettings = Field(default_factory=HttpSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    match: MatchSettings = Field(default_factory=MatchSettings)
    learn: LearnSettings = Field(default_factory=LearnSettings)
    subscribe: SubscribeSettings = Field(default_factory=SubscribeSettings)
    outgoing_mail: OutgoingMailSettings = Field(default_factory=OutgoingMailSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)] = (
        "INFO"
    )
    # "text": key=value lines (timestamped in the foreground); "json": one object per line.
    log_format: Literal["text", "json"] = "text"

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"two sources are named {source.name!r}")
            seen.add(source.name)
        return sources

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'alertbot.sqlite3').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        credentials = os.environ.get("CREDENTIALS_DIRECTORY")
        if credentials:
            sources.append(CredentialsSource(settings_cls, Path(credentials), prefix=ENV_PREFIX))
        return tuple(sources)

    @property
    def config_file(self) -> Path | None:
        """The TOML file these settings were read from (None: defaults and environment)."""
        return self._origins.toml_file if self._origins else None

    def problem(self, loc: Loc, message: str) -> str:
        """``origin: key: message``, the origin being where ``loc``'s value was set."""
        return _problem(self._origins, loc, message)


def find_config_file(explicit: Path | None = None) -> Path | None:
    """The TOML file to read: ``explicit``, then ``$ALERTBOT_CONFIG``, then the defaults."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if from_env:
        return Path(from_env)
    return next((p for p in DEFAULT_CONFIG_PATHS if p.is_file()), None)


def _problem(origins: Origins | None, loc: Loc, message: str) -> str:
    loc = origins.renumbered(loc) if origins is not None else loc
    key = ".".join(str(p) for p in loc) or "(settings)"
    origin = origins.of(loc) if origins is not None else None
    return f"{origin}: {key}: {message}" if origin else f"{key}: {message}"


def _read_sources(path: Path | None, overrides: dict[str, Any]) -> tuple[Origins, list[str]]:
    """What the file, the environment and the credentials say; problems reading them."""
    origins = Origins(prefix=ENV_PREFIX, toml_file=path, overrides=overrides)
    problems: list[str] = []
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            origins.toml = tomllib.loads(text)
            origins.lines = toml_lines(text)
        except OSError as exc:
            problems.append(f"{path}: cannot read: {exc.strerror or exc}")
        except UnicodeDecodeError:
            problems.append(f"{path}: not UTF-8 text")
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{path}: not valid TOML: {exc}")
    try:
        origins.env = EnvSettingsSource(Settings)()
    except SettingsError as exc:
        # A list or table given as a variable must be JSON: ALERTBOT_SOURCES='[...]'.
        field = str(exc).split('"')[1] if '"' in str(exc) else "?"
        problems.append(f"environment {ENV_PREFIX}{field.upper()}: not valid JSON for {field}")
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials:
        origins.credentials_dir = Path(credentials)
        origins.credentials = CredentialsSource(Settings, Path(credentials), prefix=ENV_PREFIX)()
    return origins, problems


class _Given(Settings):
    """Settings from exactly the values given: load_settings has read the sources itself."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from the file, the environment and ``overrides``.

    Raises :class:`ConfigError` listing every invalid setting, each with its origin.
    """
    path = find_config_file(config_file)
    where = str(path) if path else "settings (no config file)"
    if path is not None and not path.is_file():
        raise ConfigError(where, [f"{path}: config file not found"])
    origins, problems = _read_sources(path, overrides)
    if problems:
        raise ConfigError(where, problems)
    raw = merge(origins.toml, origins.credentials, origins.env, overrides)
    try:
        settings: Settings = _Given(**raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        lines = [_problem(origins, tuple(e["loc"]), describe(Settings, e)) for e in errors]
        bad = frozenset(tuple(e["loc"]) for e in errors)
        rest, renumbering = without(raw, bad)
        try:
            partial: Settings | None = _Given(**rest)
        except ValidationError:
            partial = None
        if partial is not None:
            partial._origins = dataclasses.replace(origins, renumbering=renumbering)
        raise ConfigError(where, list(dict.fromkeys(lines)), partial=partial, bad=bad) from None
    settings._origins = origins
    return settings

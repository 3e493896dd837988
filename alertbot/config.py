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
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from alertbot.config_sections import (
    DeliverySettings,
    HttpSettings,
    LearnSettings,
    MatchSettings,
    OutgoingMailSettings,
    RetentionSettings,
    ScheduleSettings,
    SlackSettings,
    SmtpSettings,
    SourceConfig,
    SubscribeSettings,
    WebSettings,
)
from alertbot.config_sources import (
    CredentialsSource,
    Loc,
    Origins,
    describe,
    merge,
    toml_lines,
    without,
)

ENV_PREFIX = "ALERTBOT_"

DEFAULT_CONFIG_PATHS: tuple[Path, ...] = (
    Path("alertbot.toml"),
    Path("~/.config/alertbot/alertbot.toml").expanduser(),
    Path("/etc/alertbot/alertbot.toml"),
)


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


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

"""``alertbot config check`` and ``alertbot config show``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from alertbot.cli.common import ConfigOption, err, out, settings
from alertbot.config import ConfigError, Settings, find_config_file, is_loopback, load_settings
from alertbot.redact import redact_url


def check_settings(cfg: Settings) -> list[str]:
    """Problems the settings' own validation cannot see: formats, URLs, pairs.

    ``alertbot run`` refuses to start on any of them; ``config check`` lists them all.
    """
    from alertbot import validate

    problems: list[str] = []
    try:
        validate.send_time(cfg.subscribe.default_send_time)
    except ValueError as exc:
        problems.append(f"subscribe.default_send_time: {exc}")
    public = urlsplit(cfg.web.public_url)
    if public.scheme not in ("http", "https"):
        problems.append(f"web.public_url: {cfg.web.public_url!r} is not an http(s) URL")
    elif public.scheme == "http" and not is_loopback(public.hostname):
        # Unsubscribe tokens travel in these links; RFC 8058 one-click wants HTTPS.
        problems.append(
            f"web.public_url: {cfg.web.public_url!r} must be https:// (only a "
            "loopback address may use http, for trying alertbot out)"
        )
    if cfg.database_url:
        try:
            backend = make_url(cfg.database_url).get_backend_name()
        except ArgumentError:
            problems.append("database_url: not a database URL (postgresql://... or sqlite:///...)")
        else:
            if backend not in ("sqlite", "postgresql"):
                problems.append(f"database_url: {backend} is not supported (SQLite, PostgreSQL)")
    if cfg.smtp.username and cfg.smtp.password is None:
        problems.append("smtp.password: smtp.username is set but no password is")
    if cfg.smtp.ca_file is not None and not cfg.smtp.ca_file.is_file():
        problems.append(f"smtp.ca_file: {cfg.smtp.ca_file} does not exist")
    if cfg.slack.signing_secret and not cfg.slack.bot_token:
        problems.append("slack.bot_token: slack.signing_secret is set but no bot token is")
    if cfg.slack.app_token and not cfg.slack.bot_token:
        problems.append("slack.bot_token: slack.app_token is set but no bot token is")
    if not isinstance(logging.getLevelName(cfg.log_level.upper()), int):
        problems.append(f"log_level: {cfg.log_level!r} is not DEBUG, INFO, WARNING or ERROR")
    return problems


def settings_warnings(cfg: Settings) -> list[str]:
    """Settings that work but are probably not what a deployment wants."""
    warnings: list[str] = []
    if cfg.smtp.host and is_loopback(urlsplit(cfg.web.public_url).hostname):
        warnings.append(
            f"web.public_url: {cfg.web.public_url!r} is a loopback address, so the "
            "unsubscribe links in emails only work on this machine"
        )
    return warnings


def worker_problems(cfg: Settings) -> list[str]:
    """What a ``run --worker`` process needs to share the main process's outbox and links."""
    problems: list[str] = []
    if not cfg.database_url:
        problems.append(
            "database_url: a --worker must use the main process's database (set it; "
            "PostgreSQL when workers run on several machines), not its own SQLite file"
        )
    if cfg.secret_key is None:
        problems.append(
            "secret_key: a --worker must sign unsubscribe links with the main process's "
            "key; set the same secret_key for both"
        )
    return problems


def effective_settings(cfg: Settings) -> dict[str, Any]:
    """The settings as plain data with every secret masked (SecretStr, URL credentials)."""
    data = cfg.model_dump(mode="json")  # SecretStr values dump as "**********"
    data["database_url"] = redact_url(cfg.effective_database_url)
    for source in data["sources"]:
        source["location"] = redact_url(source["location"])
    data["web"]["public_url"] = redact_url(data["web"]["public_url"])
    data["slack"]["api_url"] = redact_url(data["slack"]["api_url"])
    return data


def _toml_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def to_toml(data: dict[str, Any]) -> str:
    """A TOML rendering of ``data`` (unset values appear as comments)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    arrays: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        elif value is None:
            lines.append(f"# {key} = (unset)")
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, items in arrays:
        for item in items:
            lines += ["", f"[[{key}]]", *to_toml(item).splitlines()]
    for key, table in tables:
        lines += ["", f"[{key}]", *to_toml(table).splitlines()]
    return "\n".join(lines)


def check(
    file: Annotated[
        Path | None,
        typer.Argument(help="The file to check. Default: the one --config or the defaults find."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Check a settings file; exit 2 listing every problem.

    Checks the types and ranges of every setting, plus what they cannot
    show: crontab lines of sources and cleanup, source formats, URLs, and
    settings that need a partner (an SMTP user needs a password).
    Environment variables and credentials are applied as in `alertbot run`.
    """
    path = file or find_config_file(config)
    where = str(path) if path else "defaults and environment"
    try:
        cfg = load_settings(path)
    except ConfigError as exc:
        problems = exc.problems
    else:
        problems = check_settings(cfg)
        for warning in settings_warnings(cfg):
            err.print(f"warning: {warning}", markup=False, soft_wrap=True)
    if problems:
        err.print(f"{where}: {len(problems)} problem(s)", markup=False, soft_wrap=True)
        for problem in problems:
            err.print(f"  - {problem}", markup=False, soft_wrap=True)
        raise typer.Exit(2)
    out.print(f"{where}: ok ({len(cfg.sources)} source(s))", markup=False)


def show(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of TOML.")] = False,
) -> None:
    """Print the effective settings, secrets masked.

    What `alertbot run` would use: the file, then the environment and the
    credentials directory on top. Passwords, tokens and keys are shown as
    ********** when set; nothing secret is ever printed.
    """
    cfg = settings(config)
    data = effective_settings(cfg)
    if as_json:
        out.print_json(json.dumps(data))
    else:
        out.print(to_toml(data), markup=False, highlight=False)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's commands to ``app`` and its benchmarks to ``bench``."""
    group = typer.Typer(help="Check and show the settings.", no_args_is_help=True)
    group.command("check")(check)
    group.command("show")(show)
    app.add_typer(group, name="config")

"""What settings cannot check about themselves: pairs, URLs, files, and the store.

pydantic validates each value (type, range, choices, unknown keys). These look at the
settings as a whole and at the world they point to: a setting that needs a partner,
a source file that does not exist, subscribers whose channels nothing can deliver to.
Each problem is ``(key, message)``; ``Settings.problem`` adds where the value came from.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from alertbot import validate
from alertbot.cli import faults
from alertbot.config import Settings
from alertbot.config_sections import is_loopback
from alertbot.config_sources import Loc
from alertbot.model import EndpointKind, Subscriber
from alertbot.sources import is_url
from alertbot.store import connect
from alertbot.store import subscribers as subscriber_store

Problem = tuple[Loc, str]


def check_settings(cfg: Settings) -> list[Problem]:
    """Problems between settings: formats, URLs, settings that need a partner.

    ``alertbot run`` refuses to start on any of them; ``config check`` lists them all.
    """
    problems: list[Problem] = []
    try:
        validate.send_time(cfg.subscribe.default_send_time)
    except ValueError as exc:
        problems.append((("subscribe", "default_send_time"), str(exc)))
    public = urlsplit(cfg.web.public_url)
    if public.scheme not in ("http", "https"):
        problems.append(
            (("web", "public_url"), f"{cfg.web.public_url!r} is not an http(s) URL")
        )  # fmt: skip
    elif public.scheme == "http" and not is_loopback(public.hostname):
        # Unsubscribe tokens travel in these links; RFC 8058 one-click wants HTTPS.
        problems.append(
            (
                ("web", "public_url"),
                f"{cfg.web.public_url!r} must be https:// (only a loopback address may use "
                "http, for trying alertbot out)",
            )
        )
    if cfg.database_url:
        try:
            backend = make_url(cfg.database_url).get_backend_name()
        except ArgumentError:
            problems.append(
                (("database_url",), "not a database URL (postgresql://... or sqlite:///...)")
            )
        else:
            if backend not in ("sqlite", "postgresql"):
                problems.append(
                    (("database_url",), f"{backend} is not supported (SQLite, PostgreSQL)")
                )
    if cfg.smtp.username and cfg.smtp.password is None:
        problems.append(
            (
                ("smtp", "username"),
                "set, but smtp.password is not: set ALERTBOT_SMTP__PASSWORD (or a credential)",
            )
        )
    if cfg.smtp.ca_file is not None and not cfg.smtp.ca_file.is_file():
        problems.append((("smtp", "ca_file"), f"{cfg.smtp.ca_file} does not exist"))
    for key in ("signing_secret", "app_token"):
        if getattr(cfg.slack, key) and not cfg.slack.bot_token:
            problems.append(
                (
                    ("slack", key),
                    "set, but slack.bot_token is not: set ALERTBOT_SLACK__BOT_TOKEN too",
                )
            )
    return problems


def source_problems(cfg: Settings) -> list[Problem]:
    """File and folder sources that do not exist (URLs are not fetched here)."""
    problems: list[Problem] = []
    for number, source in enumerate(cfg.sources):
        if is_url(source.location) or "://" in source.location:
            continue
        path = Path(source.location).expanduser()
        if not path.exists():
            where = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
            problems.append(
                (
                    ("sources", number, "location"),
                    f"source {source.name!r}: {source.location} does not exist{where}: create "
                    "it, fix the path, or remove the source",
                )
            )
    return problems


def _names(subs: list[Subscriber]) -> str:
    shown = ", ".join(repr(s.name) for s in subs[:3])
    return shown + (f" and {len(subs) - 3} more" if len(subs) > 3 else "")


def _with(subs: list[Subscriber], kinds: set[EndpointKind]) -> list[Subscriber]:
    return [s for s in subs if any(e.active and e.kind in kinds for e in s.endpoints)]


def store_problems(cfg: Settings) -> list[Problem]:
    """Subscribers whose channels these settings cannot deliver to.

    Reads the store only if it exists (a check never creates one) and never migrates it.
    """
    url = make_url(cfg.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return []
    engine = connect(cfg.effective_database_url, busy_timeout=cfg.sqlite_busy_timeout_seconds)
    try:
        subs = subscriber_store.list_subscribers(engine, active_only=True)
    except SQLAlchemyError as exc:
        fault = faults.explain(exc)
        if fault is not None and fault.code == faults.DATABASE_UNREACHABLE:
            return [(("database_url",), fault.message)]
        logging.getLogger(__name__).debug("store not readable for checks: %s", exc)
        return []
    finally:
        engine.dispose()
    problems: list[Problem] = []
    slack = _with(subs, {EndpointKind.SLACK_USER, EndpointKind.SLACK_CHANNEL})
    if slack and cfg.slack.bot_token is None:
        problems.append(
            (
                ("slack", "bot_token"),
                f"unset, but {len(slack)} subscriber(s) have Slack endpoints ({_names(slack)}): "
                "set ALERTBOT_SLACK__BOT_TOKEN or remove the Slack endpoints of "
                f"{len(slack)} subscriber(s) (alertbot subscribers edit NAME --remove-channel ID)",
            )
        )
    email = _with(subs, {EndpointKind.EMAIL})
    if email and not cfg.smtp.host:
        problems.append(
            (
                ("smtp", "host"),
                f"unset, but {len(email)} subscriber(s) have email addresses ({_names(email)}): "
                "set smtp.host (with port and security) or remove their email channels",
            )
        )
    return problems


def settings_warnings(cfg: Settings) -> list[Problem]:
    """Settings that work but are probably not what a deployment wants."""
    warnings: list[Problem] = []
    if cfg.smtp.host and is_loopback(urlsplit(cfg.web.public_url).hostname):
        warnings.append(
            (
                ("web", "public_url"),
                f"{cfg.web.public_url!r} is a loopback address, so the unsubscribe links in "
                "emails only work on this machine",
            )
        )
    return warnings


def worker_problems(cfg: Settings) -> list[Problem]:
    """What a ``run --worker`` process needs to share the main process's outbox and links."""
    problems: list[Problem] = []
    if not cfg.database_url:
        problems.append(
            (
                ("database_url",),
                "a --worker must use the main process's database (set it; PostgreSQL when "
                "workers run on several machines), not its own SQLite file",
            )
        )
    if cfg.secret_key is None:
        problems.append(
            (
                ("secret_key",),
                "a --worker must sign unsubscribe links with the main process's key; set the "
                "same secret_key for both",
            )
        )
    return problems


def every_problem(cfg: Settings) -> list[str]:
    """Every check above on ``cfg``, as lines that say where each value came from."""
    found = check_settings(cfg) + source_problems(cfg) + store_problems(cfg)
    return [cfg.problem(loc, message) for loc, message in found]

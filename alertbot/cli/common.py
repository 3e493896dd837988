"""What every command shares: the ``--config`` option, settings, the store, output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine

from alertbot import logs
from alertbot.config import ConfigError, Settings, load_settings
from alertbot.store import connect, migrate

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="ALERTBOT_CONFIG",
        help="TOML settings file. Default: ./alertbot.toml, ~/.config/alertbot/alertbot.toml, "
        "/etc/alertbot/alertbot.toml (first found).",
        show_default=False,
    ),
]

# Results go to stdout; progress, warnings and errors go to stderr so pipes stay clean.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error to stderr and exit with ``code``."""
    # The message is plain text: a path with [brackets] must not be read as markup, and
    # a one-line error stays one line however narrow the terminal.
    err.print("[bold red]error:[/] ", end="", markup=True)
    err.print(message, markup=False)
    raise typer.Exit(code)


def settings(config: Path | None, **overrides: object) -> Settings:
    """Load settings or exit 2 with every problem listed."""
    logs.configure()
    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        fail(str(exc), code=2)


def open_store(cfg: Settings) -> Engine:
    """Connect to the configured database and bring its schema up to date."""
    engine = connect(cfg.effective_database_url)
    migrate(engine)
    return engine

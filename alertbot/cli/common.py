"""What every command shares: the app classes, ``--config``, settings, the store, output.

Output rules: results go to stdout (``--json`` where a script may read them), notes,
progress, warnings and errors to stderr, so pipes stay clean. Tables are never cut
when stdout is not a terminal. ``alertbot -q`` silences notes and progress,
``alertbot -v`` logs at DEBUG.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from typer.core import TyperArgument, TyperCommand, TyperGroup

from alertbot import logs
from alertbot.cli import faults
from alertbot.config import DEFAULT_CONFIG_PATHS, ConfigError, Settings, load_settings
from alertbot.logs import get_logger
from alertbot.model import Endpoint, Subscriber
from alertbot.schedule.clock import utcnow
from alertbot.store import connect, migrate
from alertbot.subscribers import SubscriberService

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
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead.")]
Ref = Annotated[str, typer.Argument(help="Subscriber id or exact name.", show_default=False)]

F = TypeVar("F", bound=Callable[..., Any])
log = get_logger(__name__)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# No table is cut: rich would otherwise fit everything into 80 columns when piped.
_PIPE_WIDTH = 10_000


@dataclass
class Verbosity:
    """Set by ``alertbot -v`` / ``-q`` (the root options) for the command that follows."""

    level: int = 0  # -1 quiet, 0 normal, 1+ verbose


verbosity = Verbosity()


def start(level: int) -> None:
    """Reset per-invocation output state (the root callback calls this)."""
    verbosity.level = level
    out.width = _PIPE_WIDTH if not out.is_terminal else None  # type: ignore[assignment]
    err.width = _PIPE_WIDTH if not err.is_terminal else None  # type: ignore[assignment]


# -- help as people read it ------------------------------------------------------------


def _plain_flags(params: list[Any]) -> list[Any]:
    # A flag takes no value; Typer's help would print "<bool>" beside it as if it did.
    for param in params:
        takes_no_value = getattr(param, "is_flag", False) or getattr(param, "count", False)
        if takes_no_value and param.metavar is None:
            param.metavar = ""
    return params


_LISTED = re.compile(r"^(\s|[-*] |\d+\. |\x08)")


def reflow(text: str) -> str:
    """Help text with each prose paragraph on one line, for the terminal to wrap.

    Typer's rich help keeps a docstring's line breaks, so at 80 columns a sentence broke
    twice ("...rows" / "in" / "state unknown"). Paragraphs with indented, listed or
    ``\\b`` (verbatim) lines keep their breaks.
    """
    paragraphs = re.split(r"\n\s*\n", text.strip())
    kept = [
        p if any(_LISTED.match(line) for line in p.splitlines()) else " ".join(p.split("\n"))
        for p in paragraphs
    ]
    return "\n\n".join(kept)


class _Reflowed:
    """Help prose reflowed (:func:`reflow`), for commands and groups alike."""

    help: str | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = reflow(self.help)


class Command(_Reflowed, TyperCommand):
    """A command whose help reads like a man page and whose operator faults are one line.

    Usage shows ``REF`` and ``[FILE]`` (not Typer's ``{ref}``); flags show no type; prose
    is reflowed to the terminal's width (:func:`reflow`); a database, disk or lock fault
    ends in one line and a documented exit code (:mod:`alertbot.cli.faults`) instead of a
    traceback.
    """

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = (param.metavar or param.name or "arg").upper()
                name = name if param.required else f"[{name}]"
                pieces.append(name + ("..." if param.nargs != 1 else ""))
        return pieces

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            fault = faults.explain(exc)
            if fault is None:
                raise
            fail(fault.message, fault.code)


class Group(_Reflowed, TyperGroup):
    """A command group with the same help conventions as :class:`Command`."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


class Typer(typer.Typer):
    """``typer.Typer`` whose commands and groups are :class:`Command` and :class:`Group`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        kwargs.setdefault("rich_markup_mode", "rich")
        super().__init__(**kwargs)

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[[F], F]:
        kwargs.setdefault("cls", Command)
        decorator: Callable[[F], F] = super().command(name, **kwargs)
        return decorator


# -- messages ----------------------------------------------------------------------------


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error to stderr and exit with ``code``."""
    # Plain text: a name, query or path with [brackets] must not be read as markup.
    err.print(Text.assemble(("error: ", "bold red"), message))
    raise typer.Exit(code)


def fail_lines(header: str, problems: list[str], code: int = faults.USAGE) -> NoReturn:
    """``error: header`` and one indented line per problem; exit ``code``."""
    err.print(Text.assemble(("error: ", "bold red"), header))
    for problem in problems:
        err.print(Text(f"  - {problem}"))
    raise typer.Exit(code)


def note(message: str) -> None:
    """A line on stderr for the person at the terminal; ``alertbot -q`` drops it."""
    if verbosity.level >= 0:
        err.print(Text(message, style="dim"))


def warn(message: str) -> None:
    """A warning on stderr (shown even with -q)."""
    err.print(Text.assemble(("warning: ", "yellow"), message))


def print_measures(rows: Iterable[tuple[str, str]]) -> None:
    """A benchmark's (measure, value) rows as a table on stdout."""
    table = Table("measure", "value")
    for measure, value in rows:
        table.add_row(measure, value)
    out.print(table)


def print_json(data: Any) -> None:
    """``data`` as one JSON document on stdout."""
    typer.echo(json.dumps(data, ensure_ascii=False, default=str, indent=2))


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[..., None]]:
    """A progress bar on a terminal (nothing when piped, or with -q).

    Yields ``advance(n=1, description=None)``.
    """
    if not err.is_terminal or verbosity.level < 0:
        yield lambda n=1, description=None: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1, description: str | None = None) -> None:
            bar.update(task, advance=n, description=description or bar.tasks[0].description)

        yield advance


# -- settings and the store ---------------------------------------------------------------


def settings(config: Path | None, **overrides: object) -> Settings:
    """Load settings or exit 2 with every problem listed, each with where it came from."""
    logs.configure("DEBUG" if verbosity.level > 0 else "WARNING" if verbosity.level < 0 else "INFO")
    try:
        cfg = load_settings(config, **overrides)
    except ConfigError as exc:
        fail_lines(f"{exc.where}: {len(exc.problems)} problem(s)", exc.problems, 2)
    if verbosity.level != 0:  # -v / -q win over log_level, for `alertbot run` too
        cfg.log_level = "DEBUG" if verbosity.level > 0 else "WARNING"
    logs.configure(cfg.log_level, format=cfg.log_format)
    return cfg


def store_label(cfg: Settings) -> str:
    """The store as people should see it: a relative SQLite path, a URL without password."""
    url = make_url(cfg.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        path = Path(url.database)
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)
    return url.render_as_string(hide_password=True)


def _sqlite_file(cfg: Settings) -> Path | None:
    url = make_url(cfg.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database)
    return None


def store_exists(cfg: Settings) -> bool:
    """False only for an SQLite store whose file is not there yet."""
    sqlite = _sqlite_file(cfg)
    return sqlite is None or sqlite.exists()


def _shown_path(path: Path) -> str:
    text = str(path).replace(str(Path.home()), "~", 1)
    return text if path.is_absolute() or text.startswith("~") else f"./{text}"


def config_note(cfg: Settings) -> str:
    """Which settings file this command uses, or that none was found."""
    if cfg.config_file is not None:
        return f"config {cfg.config_file}"
    looked = ", ".join(_shown_path(p) for p in DEFAULT_CONFIG_PATHS)
    return f"no config file found (looked for {looked}): defaults and ALERTBOT_ variables apply"


def open_store(cfg: Settings, *, create: bool = False) -> Engine:
    """Connect to the configured store and bring its schema up to date.

    Says which config and store are used. A command that only reads or sends
    (``create=False``) refuses to create a new SQLite file: an empty store in the
    wrong folder would answer "nothing to send" where the real one holds work.
    """
    sqlite = _sqlite_file(cfg)
    faults.store.label, faults.store.path = store_label(cfg), sqlite
    faults.store.busy_timeout = cfg.sqlite_busy_timeout_seconds
    if sqlite is not None and not sqlite.exists():
        if not create:
            fail(
                f"no store at {store_label(cfg)}; {config_note(cfg)}. Run this in the folder "
                "of your alertbot.toml or pass --config FILE (a new store is created by "
                "`alertbot fetch` or `alertbot subscribers add`)",
                2,
            )
        note(f"{config_note(cfg)}; new store {store_label(cfg)}")
    else:
        note(f"{config_note(cfg)}; store {store_label(cfg)}")
    engine = connect(cfg.effective_database_url, busy_timeout=cfg.sqlite_busy_timeout_seconds)
    applied = migrate(engine)
    log.debug("store open", store=store_label(cfg), migrations_applied=",".join(applied) or "none")
    return engine


def subscriber_service(cfg: Settings, engine: Engine) -> SubscriberService:
    return SubscriberService(engine, cfg, now=utcnow)


def find_or_fail(service: SubscriberService, ref: str) -> Subscriber:
    found = service.find(ref)
    if found is None:
        fail(
            f"no subscriber {ref!r} (give an id or the exact name; see: alertbot subscribers list)"
        )
    return found


def endpoint_label(ep: Endpoint) -> str:
    address = f"{ep.slack_team_id}:{ep.address}" if ep.slack_team_id else ep.address
    label = f"{ep.kind.value} {address}"
    if not ep.active:
        label += " (disabled" + (f": {ep.disabled_reason}" if ep.disabled_reason else "") + ")"
    elif not ep.confirmed:
        label += " (unconfirmed)"
    return label

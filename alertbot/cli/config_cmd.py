"""``alertbot config check`` and ``alertbot config show``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from alertbot.cli.common import (
    ConfigOption,
    Typer,
    config_note,
    fail_lines,
    note,
    out,
    settings,
    warn,
)
from alertbot.cli.config_checks import every_problem, settings_warnings
from alertbot.config import ConfigError, Settings, find_config_file, load_settings
from alertbot.redact import redact_url
from alertbot.samples import example_text


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
    """Check the settings; exit 2 listing every problem, each with where it was set.

    Checks the types, ranges and choices of every setting and that no key is
    misspelt (with a suggestion), plus what they cannot show alone: crontab lines,
    URLs, settings that need a partner (an SMTP user needs a password), file and
    folder sources that do not exist, and subscribers in the store whose channels
    nothing would deliver to (Slack endpoints without a bot token). Environment
    variables and credentials are applied as in `alertbot run`, and each problem
    names its origin: the file and line, the variable or the credential.
    """
    path = file or find_config_file(config)
    where = str(path) if path else "settings (no config file)"
    try:
        cfg: Settings | None = load_settings(path)
        problems: list[str] = []
    except ConfigError as exc:
        cfg, problems = exc.partial, list(exc.problems)
    if cfg is not None:
        problems += every_problem(cfg)
        for loc, warning in settings_warnings(cfg):
            warn(cfg.problem(loc, warning))
    if problems:
        fail_lines(f"{where}: {len(problems)} problem(s)", problems, 2)
    assert cfg is not None  # no problem means the settings loaded
    if path is None:
        note(config_note(cfg))
    out.print(f"{where}: ok ({len(cfg.sources)} source(s))", markup=False)


def example(
    subscribers: Annotated[
        bool, typer.Option("--subscribers", help="The subscribers import file instead.")
    ] = False,
) -> None:
    """Print the commented example settings file (every setting, its default, why).

    Start a configuration with: alertbot config example > alertbot.toml
    """
    typer.echo(example_text("subscribers" if subscribers else "alertbot"), nl=False)


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
    group = Typer(help="Check, show and start the settings.", no_args_is_help=True)
    group.command("check")(check)
    group.command("show")(show)
    group.command("example")(example)
    app.add_typer(group, name="config")

"""Running the CLI in-process, and writing the config files it reads."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from alertbot.cli import app


def run(*args: str) -> Result:
    """``alertbot ARGS...`` in this process (stdout and stderr kept apart)."""
    return CliRunner().invoke(app, list(args))


def write_config(path: Path, *sources: tuple[str, Path], database_url: str | None = None) -> Path:
    """An ``alertbot.toml`` with these (name, location) sources."""
    lines = [f'database_url = "{database_url}"'] if database_url else []
    for name, location in sources:
        lines += ["[[sources]]", f'name = "{name}"', f'location = "{location}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

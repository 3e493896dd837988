"""Long work shows a progress bar on a terminal, and nothing when output is not one."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from alertbot.cli import common
from tests.helpers import REPO
from tests.helpers.cli import run, write_config


def test_it_draws_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal the bar shows the description and the count done."""
    screen = io.StringIO()
    monkeypatch.setattr(common, "err", Console(file=screen, force_terminal=True, width=100))
    common.verbosity.level = 0
    with common.progress("importing", 3) as advance:
        advance()
        advance(description="importing entry 2")
    assert "importing entry 2" in screen.getvalue()
    assert "2/3" in screen.getvalue()


def test_it_draws_nothing_when_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """`alertbot -q` means no bar even on a terminal."""
    screen = io.StringIO()
    monkeypatch.setattr(common, "err", Console(file=screen, force_terminal=True, width=100))
    common.verbosity.level = -1
    try:
        with common.progress("importing", 3) as advance:
            advance()
    finally:
        common.verbosity.level = 0
    assert screen.getvalue() == ""


def test_a_piped_fetch_of_a_folder_prints_no_bar(tmp_path: Path) -> None:
    """Not a terminal (a pipe, a log file): the fetch prints its table and no progress."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    for path in (REPO / "alertbot" / "samples").glob("hf-papers-*.txt"):
        shutil.copy(path, folder / path.name)
    write_config(tmp_path / "alertbot.toml", ("dumps", folder))
    result = run("fetch")
    assert result.exit_code == 0, result.output
    assert "dumps" in result.stdout
    assert "file 1 of" not in result.stderr
    assert "━" not in result.stderr

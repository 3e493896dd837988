"""Every command's ``--help`` reads as written: no swallowed text, no placeholders.

Typer's rich help takes ``[match]`` for markup (leaving "()"), prints ``<bool>`` beside
flags as if they took a value, and writes arguments as ``{ref}``; these tests render the
help of every command and group the CLI has, so a new one cannot bring them back.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from alertbot.cli import app

BAD = {
    "empty parentheses": re.compile(r"\(\s*\)"),
    "<bool>": re.compile(r"<bool>"),
    "brace placeholder": re.compile(r"\{[a-z_]+\}"),
    "a repository path": re.compile(r"\bconfig/\w+\.example\.toml"),
}


def commands(group: typer.core.TyperGroup, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, command in group.commands.items():
        if isinstance(command, typer.core.TyperGroup):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name)


ROOT = typer.main.get_command(app)
assert isinstance(ROOT, typer.core.TyperGroup)
PATHS = list(commands(ROOT))


def test_the_cli_has_the_commands_the_readme_lists() -> None:
    """The walk finds the commands (so the checks below are not vacuous)."""
    names = {" ".join(p) for p in PATHS}
    for expected in ("send", "deliveries list", "subscribers import", "bench match", "config"):
        assert expected in names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "alertbot")
def test_help_has_no_swallowed_text_or_placeholders(path: tuple[str, ...]) -> None:
    """``alertbot ... --help`` shows no "()", no "<bool>", no "{name}", no repo path."""
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for what, pattern in BAD.items():
        found = pattern.search(result.stdout)
        assert found is None, f"{what}: {found.group(0) if found else ''!r} in\n{result.stdout}"


@pytest.mark.parametrize("path", [p for p in PATHS if p], ids=" ".join)
def test_every_option_and_argument_has_a_description(path: tuple[str, ...]) -> None:
    """No option is listed with an empty help column (``bench match --profiles`` was)."""
    command: object = ROOT
    for name in path:
        assert isinstance(command, typer.core.TyperGroup)
        command = command.commands[name]
    assert isinstance(command, typer.core.TyperCommand | typer.core.TyperGroup)
    for param in command.params:
        assert getattr(param, "help", None), f"{' '.join(path)}: {param.name} has no help"


def test_usage_names_arguments_in_capitals_and_brackets_the_optional_ones() -> None:
    """``subscribers show REF``; ``config check [FILE]``."""
    show = CliRunner().invoke(app, ["subscribers", "show", "--help"], env={"COLUMNS": "200"})
    check = CliRunner().invoke(app, ["config", "check", "--help"], env={"COLUMNS": "200"})
    assert "Usage: alertbot subscribers show [OPTIONS] REF" in show.stdout
    assert "Usage: alertbot config check [OPTIONS] [FILE]" in check.stdout


def test_the_import_help_points_to_a_command_not_a_file_in_a_clone() -> None:
    """`subscribers import --help` names `alertbot subscribers example`, which prints a
    file that imports as it is."""
    result = CliRunner().invoke(app, ["subscribers", "import", "--help"], env={"COLUMNS": "200"})
    assert "alertbot subscribers example" in result.stdout
    example = CliRunner().invoke(app, ["subscribers", "example"])
    assert example.exit_code == 0
    assert len(tomllib.loads(example.stdout)["subscriber"]) == 3


def test_config_example_prints_the_commented_settings_file() -> None:
    """`alertbot config example` is the documented example, valid TOML, for a pip user."""
    result = CliRunner().invoke(app, ["config", "example"])
    assert result.exit_code == 0
    assert "[smtp]" in result.stdout
    assert tomllib.loads(result.stdout)["sources"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "alertbot")
def test_prose_flows_to_the_terminal_width(path: tuple[str, ...]) -> None:
    """At 80 columns a paragraph's sentences wrap where the terminal ends, not where the
    docstring's lines did: no line of the description, other than a paragraph's last,
    stops short of the width (``send --help`` had "rows" / "in" / "state unknown")."""
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    description = result.stdout.split("╭", 1)[0]
    for paragraph in re.split(r"\n\s*\n", description):
        lines = [line.rstrip() for line in paragraph.splitlines() if line.strip()]
        if any(line.startswith("   ") for line in lines):
            continue  # an indented example or table (rich adds one space): kept as written
        for line, after in itertools.pairwise(lines):
            if line.lstrip().startswith("Usage:"):
                continue
            next_word = after.split()[0]
            # Where the next line's first word would have fitted, the break was the docstring's.
            assert len(line) + 1 + len(next_word) > 79, f"ragged at {line!r} / {after!r}"


@pytest.mark.parametrize("path", [p for p in PATHS if p], ids=" ".join)
def test_bracketed_names_are_shown_not_taken_for_markup(path: tuple[str, ...]) -> None:
    """A settings section (``[learn]``) or an extra (``alertbot[bench]``) named in a
    command's help is printed; rich markup swallows it unless written ``\\[learn]``."""
    command: object = ROOT
    for name in path:
        assert isinstance(command, typer.core.TyperGroup)
        command = command.commands[name]
    assert isinstance(command, typer.core.TyperCommand | typer.core.TyperGroup)
    named = set(re.findall(r"\[(\w+)\]", command.help or ""))
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    for word in named:
        assert f"[{word}]" in result.stdout, f"[{word}] swallowed in {' '.join(path)} --help"

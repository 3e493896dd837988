"""The ``alertbot`` command line.

Commands live in one module per area; each module has ``register(app, bench)`` which
adds its commands to the main app and its benchmarks to ``alertbot bench``. A
command's docstring is its ``--help``.
"""

from __future__ import annotations

import typer

from alertbot import __version__
from alertbot.cli import (
    config_cmd,
    deliver_cmd,
    ingest_cmd,
    learn_cmd,
    match_cmd,
    service_cmd,
    subscribers_cmd,
)

app = typer.Typer(
    name="alertbot",
    help="Personal daily digests of new research papers, by email and Slack.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
bench = typer.Typer(
    help="Benchmarks: each prints its figures and ratios against a baseline in the same run.",
    no_args_is_help=True,
)
app.add_typer(bench, name="bench")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"alertbot {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Personal daily digests of new research papers, by email and Slack."""


for _module in (
    ingest_cmd,
    match_cmd,
    subscribers_cmd,
    deliver_cmd,
    service_cmd,
    config_cmd,
    learn_cmd,
):
    _module.register(app, bench)


def main() -> None:
    app()

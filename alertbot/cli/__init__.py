"""The ``alertbot`` command line.

Commands live in one module per area; each module has ``register(app, bench)`` which
adds its commands to the main app and its benchmarks to ``alertbot bench``. A
command's docstring is its ``--help``. Exit codes are in :mod:`alertbot.cli.faults`
(and the README).
"""

from __future__ import annotations

from typing import Annotated

import typer

from alertbot import __version__
from alertbot.cli import (
    config_cmd,
    deliver_cmd,
    delivery_bench_cmd,
    digest_cmd,
    ingest_cmd,
    learn_cmd,
    match_cmd,
    service_cmd,
    subscribers_cmd,
)
from alertbot.cli.common import Typer, start

app = Typer(
    name="alertbot",
    help="Personal daily digests of new research papers, by email and Slack.\n\n"
    "Options before the command apply to it: alertbot -q send --json.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
bench = Typer(
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
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, show_default=False, help="Log more (DEBUG)."),
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only results, warnings and errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Personal daily digests of new research papers, by email and Slack."""
    start(-1 if quiet else verbose)


for _module in (
    ingest_cmd,
    match_cmd,
    subscribers_cmd,
    digest_cmd,
    deliver_cmd,
    delivery_bench_cmd,
    service_cmd,
    config_cmd,
    learn_cmd,
):
    _module.register(app, bench)


def main() -> None:
    app()

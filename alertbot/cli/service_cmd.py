"""``alertbot run``: the long-running service (scheduler + HTTP app)."""

from __future__ import annotations

from typing import Annotated

import typer

from alertbot.cli.common import ConfigOption, fail, settings
from alertbot.logs import get_logger


def run(
    config: ConfigOption = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker",
            help="Only send what the outbox holds: an extra delivery process next to the "
            "one full `alertbot run` of the store (no fetch, queueing, cleanup or HTTP).",
        ),
    ] = False,
) -> None:
    """Run the service: scheduled fetches, digest delivery, the HTTP app.

    Fetches each source on its schedule and sends each digest at the
    subscriber's local send time; serves /healthz, /metrics, Slack and
    unsubscribe pages on web.host:web.port. SIGTERM or Ctrl-C stops it
    cleanly (the message being sent is finished). Under systemd it reports
    READY and pings the watchdog: see deploy/alertbot.service.

    Run exactly one per store; add --worker processes to send faster.
    """
    from alertbot import service
    from alertbot.cli.config_cmd import check_settings, settings_warnings, worker_problems

    cfg = settings(config)
    problems = check_settings(cfg) + (worker_problems(cfg) if worker else [])
    if problems:
        fail("; ".join(problems), code=2)
    for warning in settings_warnings(cfg):
        get_logger("alertbot.service").warning(warning)
    raise typer.Exit(service.run(cfg, worker=worker))


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's commands to ``app`` and its benchmarks to ``bench``."""
    app.command("run")(run)

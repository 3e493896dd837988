"""``alertbot run``: the long-running service (scheduler + HTTP app)."""

from __future__ import annotations

from typing import Annotated

import typer

from alertbot.cli import faults
from alertbot.cli.common import ConfigOption, fail, fail_lines, print_measures, settings
from alertbot.cli.config_checks import (
    check_settings,
    settings_warnings,
    source_problems,
    store_problems,
    worker_problems,
)
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

    cfg = settings(config)
    found = check_settings(cfg) + (worker_problems(cfg) if worker else [])
    if found:
        fail_lines(
            f"{cfg.config_file or 'settings'}: {len(found)} problem(s); not starting",
            [cfg.problem(loc, message) for loc, message in found],
            2,
        )
    log = get_logger("alertbot.service")
    # Each fetch or delivery would fail on these; the rest of the service still works.
    for loc, warning in settings_warnings(cfg) + source_problems(cfg) + store_problems(cfg):
        log.warning(cfg.problem(loc, warning))
    try:
        code = service.run(cfg, worker=worker)
    except service.StartupError as exc:
        fail(str(exc), faults.PORT_IN_USE)
    raise typer.Exit(code)


def bench_web(
    papers: Annotated[int, typer.Option("--papers", min=1, help="Recent papers.")] = 1000,
    profiles: Annotated[
        int, typer.Option("--profiles", min=1, help="Realistic profiles, one per keystroke.")
    ] = 200,
) -> None:
    """The account page's live preview: median and p95 per keystroke (target 200 ms).

    A SQLite store with --papers recent papers of real text and one signed-in reader;
    each realistic profile is previewed as the page does (papers and term statistics
    kept between keystrokes: match, build the digest, render its papers), through
    GET /account/preview on the real app, and the naive way (recent papers read and
    counted again on every keystroke) on a sample.
    """
    from alertbot.bench.web import run_bench

    result = run_bench(papers, profiles)
    print_measures(result.rows())


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's commands to ``app`` and its benchmarks to ``bench``."""
    app.command("run")(run)
    bench.command("web")(bench_web)

"""``alertbot bench deliver`` and ``alertbot bench tick``: the delivery path's benchmarks
(``alertbot/bench/deliver.py``, ``alertbot/bench/tick.py``)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from alertbot.cli.common import fail, print_measures, progress


def bench_deliver(
    subscribers: Annotated[
        int, typer.Option("--subscribers", "-n", min=1, help="Digests to build and send.")
    ] = 1000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="send_due processes, one SMTP connection each (default: one per core).",
        ),
    ] = os.cpu_count() or 1,
    backend: Annotated[str, typer.Option("--db", help="The outbox: sqlite or postgres.")] = (
        "sqlite"
    ),
    postgres_url: Annotated[
        str, typer.Option(help="Server for --db postgres (a schema is made and dropped).")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    runs: Annotated[
        int, typer.Option(min=1, help="Whole runs; more than one prints medians and ranges.")
    ] = 1,
) -> None:
    """Render and send N digests to a local SMTP sink over reused connections.

    The sink is Postfix's C smtp-sink when installed (apt-get install postfix), started
    as a plain process; else aiosmtpd's (pip install 'alertbot\\[bench]'). Queues N digests
    from the bundled samples and drains the outbox through the SMTP channel with
    --workers processes, one SMTP connection each. Reports digests/s, the share of time in
    render, send and outbox, and a baseline: raw smtplib replaying a sample of the
    digests' own bytes in turn over one connection (and over one per worker at once),
    with the sink's CPU time per message.

    On a shared machine the rates move between runs: --runs 5 repeats the whole run and
    prints each measure's median and range (the ratios are taken within each run).
    """
    from alertbot.bench.deliver import run_bench, summary
    from alertbot.bench.sink import SinkMissing

    if backend not in ("sqlite", "postgres"):
        fail(f"unknown --db {backend!r} (sqlite or postgres)", code=2)
    results = []
    with progress("bench deliver runs", total=runs) as advance:
        for _ in range(runs):
            try:
                results.append(
                    run_bench(
                        subscribers, workers=workers, backend=backend, postgres_url=postgres_url
                    )
                )
            except SinkMissing as exc:
                fail(str(exc))
            advance()
    print_measures(results[0].rows() if runs == 1 else summary(results))


def bench_tick(
    subscribers: Annotated[
        int, typer.Option("--subscribers", "-n", min=1, help="Due subscribers in the tick.")
    ] = 10_000,
    backend: Annotated[
        list[str] | None,
        typer.Option("--db", help="sqlite and/or postgres (repeatable; default: both)."),
    ] = None,
    postgres_url: Annotated[
        str, typer.Option(help="Server for --db postgres (a schema is made and dropped).")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    runs: Annotated[int, typer.Option(min=1, help="Ticks timed; medians are shown.")] = 3,
    workload: Annotated[str, typer.Option(help="realistic or easy profiles.")] = "realistic",
    feedback: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of readers whose digests learning orders."),
    ] = 0.0,
    planners: Annotated[
        int,
        typer.Option(min=1, help="Planner processes ticking together (they share the buckets)."),
    ] = 1,
) -> None:
    """One dispatcher tick for N due subscribers, the idle tick, and where the time goes.

    Builds a store with two days of 1,000 papers of real text, N subscribers with
    realistic profiles (max 20 papers each; --workload easy for the older generator) all
    due now, and yesterday's digest sent to each; then times queue_due --runs times: the
    first cold (just started), the others daily (profiles kept from the day before, the
    corpus new; medians), the idle tick right after each, and the baseline of queueing
    one transaction per digest on a sample, extrapolated.
    --feedback 0.1 gives a tenth of the readers 10 useful and 10 not useful verdicts on
    yesterday's papers, so the tick trains and applies their learned ranking.
    --planners 2 runs two planner processes on the same store at once, as two
    dispatchers on one PostgreSQL would (on SQLite they take turns).
    """
    from alertbot.bench.tick import run_bench

    for name in backend or ["sqlite", "postgres"]:
        if name not in ("sqlite", "postgres"):
            fail(f"unknown --db {name!r} (sqlite or postgres)", code=2)
        result = run_bench(
            subscribers,
            backend=name,
            postgres_url=postgres_url,
            runs=runs,
            workload=workload,
            feedback=feedback,
            planners=planners,
        )
        print_measures(result.rows())


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's benchmarks to ``bench``."""
    del app  # benchmarks only
    bench.command("deliver")(bench_deliver)
    bench.command("tick")(bench_tick)

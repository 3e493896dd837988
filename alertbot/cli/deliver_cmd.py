"""Delivery commands: ``send``, ``deliveries list|retry``, ``demo``, ``bench deliver``."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from alertbot.cli.common import ConfigOption, fail, open_store, out, settings
from alertbot.model import OutboxState
from alertbot.schedule.clock import utcnow

deliveries_app = typer.Typer(help="The outbox: what was sent, what failed, what waits.")


def send(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the digests due now; store and send nothing.")
    ] = False,
) -> None:
    """Queue the digests due now and send everything the outbox holds.

    Running it again sends nothing new: each (channel, date) digest is queued once.
    Exits 1 if a digest failed, died, or ended in state unknown. SIGTERM or Ctrl-C
    finishes the digest in flight, gives the rest back for the next run and exits
    128 + the signal number (a second signal stops at once).
    """
    from alertbot import deliver

    cfg = settings(config)
    engine = open_store(cfg)
    now = utcnow()
    if dry_run:
        planned = deliver.plan_due(engine, cfg, now=now)
        table = Table("subscriber", "channel", "date", "state", "papers", "top paper")
        for plan in planned:
            table.add_row(
                escape(plan.subscriber.name),
                f"{plan.endpoint.kind.value} {escape(plan.endpoint.address)}",
                plan.digest_date.isoformat(),
                plan.state,
                str(len(plan.paper_ids) + plan.more),
                escape(plan.top_paper or plan.error or ""),
            )
        out.print(table)
        out.print(f"{len(planned)} digest(s) due; dry run, nothing stored or sent.")
        return
    with _stop_on_signals() as stop:
        queued = deliver.queue_due(engine, cfg, now=now)
        report = deliver.send_due(engine, cfg, now=utcnow, stop=stop.event)
    table = Table("outbox", "subscriber", "channel", "date", "state", "papers", "error")
    for d in report.deliveries:
        table.add_row(
            str(d.outbox_id),
            escape(d.subscriber),
            d.kind.value,
            d.digest_date.isoformat(),
            d.state,
            str(d.n_papers),
            escape(d.error or ""),
        )
    if report.deliveries:
        out.print(table)
    counts = ", ".join(f"{n} {state}" for state, n in sorted(report.counts().items()))
    out.print(
        f"queued {queued}; {counts or 'nothing to send'}"
        + (f"; reclaimed {report.reclaimed} from a lost worker" if report.reclaimed else "")
    )
    if stop.signal is not None:
        out.print(f"stopped by {stop.signal.name}; the rest waits for the next run")
        raise typer.Exit(128 + stop.signal)
    if not report.ok:
        raise typer.Exit(1)


@dataclass
class _StopRequest:
    event: threading.Event = field(default_factory=threading.Event)
    signal: signal.Signals | None = None


@contextmanager
def _stop_on_signals() -> Iterator[_StopRequest]:
    """SIGTERM (cron, ``timeout``, systemd) and SIGINT ask the send loop to stop between
    messages, so the batch is given back rather than stranded in 'sending' for a lease;
    a second signal raises KeyboardInterrupt at once (the row in hand is then settled
    by its recorded phase)."""
    stop = _StopRequest()

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.event.is_set():
            raise KeyboardInterrupt
        stop.signal = signal.Signals(signum)
        stop.event.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@deliveries_app.command("list")
def list_deliveries(
    config: ConfigOption = None,
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            "-s",
            help="Only rows in this state (repeatable): pending, sending, sent, failed, "
            "unknown, dead, empty.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 50,
) -> None:
    """List outbox rows, newest first, with attempts and the last error."""
    from alertbot.store.deliveries import list_rows

    for name in state or ():
        if name not in {s.value for s in OutboxState}:
            fail(f"unknown state {name!r} (choose from {', '.join(OutboxState)})", code=2)
    engine = open_store(settings(config))
    table = Table(
        "id", "date", "subscriber", "channel", "state", "tries", "papers", "sent", "error"
    )
    for row in list_rows(engine, states=[OutboxState(s) for s in state or ()], limit=limit):
        table.add_row(
            str(row.id),
            row.digest_date.isoformat(),
            str(row.subscriber_id),
            f"{row.kind.value} #{row.endpoint_id}",
            row.state,
            str(row.attempts),
            str(len(row.paper_ids)),
            row.sent_at.strftime("%Y-%m-%d %H:%M") if row.sent_at else "",
            escape(row.last_error or ""),
        )
    out.print(table)


@deliveries_app.command("retry")
def retry_delivery(
    outbox_id: Annotated[int, typer.Argument(help="The outbox row id (see deliveries list).")],
    config: ConfigOption = None,
) -> None:
    """Send a dead, failed or unknown digest again at the next `alertbot send`.

    An unknown digest may already have reached the reader (the SMTP server went silent
    after receiving it): retry only once you know it did not.
    """
    from alertbot.store.outbox import retry

    engine = open_store(settings(config))
    if not retry(engine, outbox_id, now=utcnow()):
        fail(f"outbox row {outbox_id} does not exist or is not dead, failed or unknown")
    out.print(f"outbox row {outbox_id} is pending again")


def demo(
    folder: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo database and ./outbox/.")
    ] = Path("alertbot-demo"),
) -> None:
    """Run the whole pipeline on the bundled samples: no credentials, no network.

    Ingests the sample dumps into a fresh SQLite database in --dir, subscribes three
    sample readers, and writes each digest as .eml, .html and .slack.json into
    --dir/outbox/. Each run starts fresh (the demo's database and files are replaced).
    """
    from alertbot import logs
    from alertbot.demo import run_demo

    logs.configure("WARNING")
    result = run_demo(folder, now=utcnow())
    table = Table("subscriber", "papers matched", "top paper")
    table.add_column("files written", overflow="fold")
    for row in result.rows:
        table.add_row(
            escape(row.subscriber),
            str(row.matched),
            escape(row.top_paper or "-"),
            _files_cell(row.files),
        )
    out.print(table)
    out.print(f"{result.papers_ingested} sample papers ingested; digests in {result.outbox}")
    if not result.report.ok:
        raise typer.Exit(1)


def _files_cell(files: Sequence[Path]) -> str:
    """``stem.{eml,html,slack.json}``: one line per digest, narrow enough for 80 columns."""
    if not files:
        return "-"
    stems: dict[str, list[str]] = {}
    for path in files:
        stem, _, ext = path.name.partition(".")
        stems.setdefault(stem, []).append(ext)
    return "\n".join(f"{escape(stem)}.{{{','.join(exts)}}}" for stem, exts in stems.items())


def bench_deliver(
    subscribers: Annotated[
        int, typer.Option("--subscribers", "-n", min=1, help="Digests to build and send.")
    ] = 500,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", "-w", min=1, help="send_due processes, one SMTP connection each."
        ),
    ] = os.cpu_count() or 1,
) -> None:
    """Render and send N digests to a local SMTP sink over reused connections.

    Starts an aiosmtpd sink (a dev dependency: pip install aiosmtpd) in a subprocess,
    queues N digests from the bundled samples and drains the outbox through the SMTP
    channel with --workers processes (default: one per core). Reports digests/s, the
    share of time in render, send and outbox, and a baseline: raw smtplib resending one
    of the digests over one connection, with the sink's CPU time per message.
    """
    from alertbot.bench.deliver import run_bench

    try:
        result = run_bench(subscribers, workers=workers)
    except ModuleNotFoundError as exc:
        fail(f"{exc.name} is needed for this benchmark (pip install aiosmtpd)")
    table = Table("measure", "value")
    for name, value in result.rows():
        table.add_row(name, value)
    out.print(table)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's commands to ``app`` and its benchmarks to ``bench``."""
    app.command("send")(send)
    app.add_typer(deliveries_app, name="deliveries")
    app.command("demo")(demo)
    bench.command("deliver")(bench_deliver)

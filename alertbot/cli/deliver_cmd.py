"""Delivery commands: ``send``, ``deliveries list|retry``, ``demo``, ``bench deliver``."""

from __future__ import annotations

import dataclasses
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from alertbot import deliver
from alertbot.cli.common import (
    ConfigOption,
    JsonOption,
    Typer,
    fail,
    note,
    open_store,
    out,
    print_json,
    progress,
    settings,
    warn,
)
from alertbot.cli.config_checks import store_problems
from alertbot.config import Settings
from alertbot.deliver import Delivery, Planned
from alertbot.model import CLAIMABLE, OutboxState
from alertbot.render.parts import one_line
from alertbot.schedule.clock import utcnow
from alertbot.store import deliveries as deliveries_store
from alertbot.store.deliveries import LedgerEntry, Waiting

deliveries_app = Typer(
    help="The outbox: what was sent, what failed, what waits.", no_args_is_help=True
)


def _when(moment: datetime, now: datetime) -> str:
    """A time the operator reads on this machine's clock: 19:42, or 2026-11-28 07:30."""
    local, today = moment.astimezone(), now.astimezone().date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%Y-%m-%d %H:%M}"


def waiting_lines(waiting: Waiting, now: datetime) -> list[str]:
    """What ``send`` leaves waiting, in words: retries, rows held, rows to decide."""
    lines: list[str] = []
    if waiting.retrying and waiting.next_attempt_at is not None:
        n = waiting.retrying
        when = _when(waiting.next_attempt_at, now)
        lines.append(
            (f"1 digest waiting to retry at {when}" if n == 1 else
             f"{n} digests waiting to retry, the first at {when}")
            + (f" (last error: {one_line(waiting.last_error, 200)})" if waiting.last_error else "")
        )  # fmt: skip
    if waiting.in_flight:
        lines.append(f"{waiting.in_flight} digest(s) being sent by another worker")
    if waiting.unknown:
        lines.append(
            f"{waiting.unknown} digest(s) in state unknown (the relay went silent after "
            "taking them): check, then `alertbot deliveries retry ID` if they were lost"
        )
    return lines


def delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "outbox_id": d.outbox_id,
        "subscriber_id": d.subscriber_id,
        "subscriber": d.subscriber,
        "endpoint_id": d.endpoint_id,
        "channel": d.kind.value,
        "digest_date": d.digest_date.isoformat(),
        "state": d.state,
        "papers": d.n_papers,
        "more": d.more,
        "error": d.error,
        "message_id": d.message_id,
    }


def _channel_warnings(cfg: Settings) -> None:
    # Said before sending, with the fix, rather than as one failed row per digest.
    for loc, message in store_problems(cfg):
        warn(cfg.problem(loc, message))


def send(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the digests due now; store and send nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Queue the digests due now and send everything the outbox holds.

    Running it again sends nothing new: each (channel, date) digest is queued once.
    Says what is left waiting (retries and when, rows another worker holds, rows in
    state unknown). Exits 1 if a digest failed, died, or ended in state unknown.
    SIGTERM or Ctrl-C finishes the digest in flight, gives the rest back for the next
    run and exits 128 + the signal number (a second signal stops at once).

    With --json: {"queued", "reclaimed", "counts", "deliveries": [...], "waiting":
    {"retrying", "next_attempt_at", "last_error", "in_flight", "unknown"}}.
    """
    cfg = settings(config)
    engine = open_store(cfg)
    now = utcnow()
    if dry_run:
        planned = deliver.plan_due(engine, cfg, now=now)
        if as_json:
            print_json([_plan_json(plan) for plan in planned])
            return
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
    _channel_warnings(cfg)
    with _stop_on_signals() as stop:
        queued = deliver.queue_due(engine, cfg, now=now)
        with progress("sending", deliveries_store.due_count(engine, now=utcnow())) as advance:
            report = deliver.send_due(
                engine, cfg, now=utcnow, stop=stop.event, progress=lambda _d: advance()
            )
    waiting = deliveries_store.waiting(engine, now=utcnow())
    stopped = 128 + stop.signal if stop.signal is not None else None
    if as_json:
        print_json(
            {
                "queued": queued,
                "reclaimed": report.reclaimed,
                "counts": report.counts(),
                "deliveries": [delivery_json(d) for d in report.deliveries],
                "waiting": dataclasses.asdict(waiting),
            }
        )
        raise typer.Exit(stopped or (0 if report.ok else 1))
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
    for line in waiting_lines(waiting, utcnow()):
        out.print(Text(line))
    if stop.signal is not None:
        out.print(f"stopped by {stop.signal.name}; the rest waits for the next run")
        raise typer.Exit(128 + stop.signal)
    if not report.ok:
        raise typer.Exit(1)


def _plan_json(plan: Planned) -> dict[str, Any]:
    return {
        "subscriber": plan.subscriber.name,
        "channel": plan.endpoint.kind.value,
        "address": plan.endpoint.address,
        "digest_date": plan.digest_date.isoformat(),
        "state": plan.state,
        "papers": len(plan.paper_ids) + plan.more,
        "top_paper": plan.top_paper,
        "error": plan.error,
    }


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    row = entry.row
    return {
        "id": row.id,
        "digest_date": row.digest_date.isoformat(),
        "subscriber_id": row.subscriber_id,
        "subscriber": entry.subscriber,
        "endpoint_id": row.endpoint_id,
        "channel": row.kind.value,
        "address": entry.address,
        "state": row.state,
        "attempts": row.attempts,
        "papers": len(row.paper_ids),
        "created_at": row.created_at.isoformat(),
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "last_error": row.last_error,
        "message_id": row.message_id,
    }


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
    as_json: JsonOption = False,
) -> None:
    """List outbox rows, newest first: who, where, state, attempts and the last error.

    With --json: a list of objects with id, digest_date, subscriber_id, subscriber,
    endpoint_id, channel, address, state, attempts, papers, created_at,
    next_attempt_at, sent_at, last_error and message_id.
    """
    for name in state or ():
        if name not in {s.value for s in OutboxState}:
            fail(f"unknown state {name!r} (choose from {', '.join(OutboxState)})", code=2)
    engine = open_store(settings(config))
    entries = deliveries_store.ledger(
        engine, states=[OutboxState(s) for s in state or ()], limit=limit
    )
    if as_json:
        print_json([entry_json(e) for e in entries])
        return
    if not entries:
        note("the outbox is empty" if not state else "no row in that state")
        return
    table = Table(
        "id", "date", "subscriber", "channel", "state", "tries", "papers", "when", "error"
    )
    now = utcnow()
    for entry in entries:
        row = entry.row
        if row.sent_at:
            when = _when(row.sent_at, now)
        elif row.state in CLAIMABLE and row.next_attempt_at and row.next_attempt_at > now:
            when = "retry " + _when(row.next_attempt_at, now)
        else:
            when = ""
        table.add_row(
            str(row.id),
            row.digest_date.isoformat(),
            escape(entry.subscriber),
            f"{row.kind.value} {escape(entry.address)}",
            row.state,
            str(row.attempts),
            str(len(row.paper_ids)),
            when,
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


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's commands to ``app`` (its benchmarks: ``delivery_bench_cmd.py``)."""
    del bench
    app.command("send")(send)
    app.add_typer(deliveries_app, name="deliveries")
    app.command("demo")(demo)

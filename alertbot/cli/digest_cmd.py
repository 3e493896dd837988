"""``alertbot digest preview``: what a subscriber would receive now, sending nothing."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from alertbot.cli.common import (
    ConfigOption,
    Ref,
    Typer,
    endpoint_label,
    err,
    fail,
    find_or_fail,
    open_store,
    out,
    settings,
    subscriber_service,
)
from alertbot.corpus import load_corpus
from alertbot.digest import build_digest
from alertbot.match import QueryError
from alertbot.model import Digest, Endpoint, EndpointKind, Subscriber
from alertbot.render import Renderer
from alertbot.render.parts import day_label, one_line
from alertbot.schedule.clock import utcnow
from alertbot.schedule.due import due_digest_date, next_send_at
from alertbot.store.candidates import candidate_papers
from alertbot.store.deliveries import last_queued_dates

digest_app = Typer(help="Digests: preview what a subscriber would receive.", no_args_is_help=True)


@digest_app.command("preview")
def preview(
    ref: Ref,
    on: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Digest date YYYY-MM-DD (default: the channel's next digest, in the "
            "subscriber's zone).",
        ),
    ] = None,
    channel: Annotated[
        int | None,
        typer.Option("--channel", help="Channel ID (default: the first)."),
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML email here.")] = None,
    text: Annotated[Path | None, typer.Option("--text", help="Write the text email here.")] = None,
    slack_json: Annotated[
        Path | None, typer.Option("--slack-json", help="Write the Slack message (JSON) here.")
    ] = None,
    window_days: Annotated[
        int, typer.Option("--window-days", min=1, help="Look-back for a channel never sent to.")
    ] = 7,
    config: ConfigOption = None,
) -> None:
    """Show a subscriber's next digest as it stands now, sending or recording nothing.

    The next digest is the one due now, or else the next one the schedule will queue
    (tomorrow's, once today's has gone): its date and when it is due are printed
    above the papers it would hold.
    """
    cfg = settings(config)
    engine = open_store(cfg)
    sub = find_or_fail(subscriber_service(cfg, engine), ref)
    now = utcnow()
    endpoint = _preview_endpoint(sub, channel)
    if on is not None:
        try:
            day, when = date.fromisoformat(on), "date given"
        except ValueError:
            fail(f"--date: not a date {on!r} (use YYYY-MM-DD)", 2)
    else:
        day, when = next_digest(sub, now, last_queued_dates(engine).get(endpoint.id))
    candidates = candidate_papers(engine, endpoint, now=now, window_days=window_days)
    stats = load_corpus(engine, now=now, days=cfg.match.corpus_days).stats
    try:
        digest = build_digest(sub, endpoint, day, candidates, stats)
    except QueryError as exc:
        fail(f"{sub.name}'s profile does not parse: {exc}", 2)
    _print_digest(digest, len(candidates), when)
    renderer = Renderer(public_url=cfg.web.public_url)
    if html or text:
        # A placeholder: a preview is never sent, so it carries no real unsubscribe token.
        email = renderer.email(
            digest, unsubscribe_url=f"{renderer.public_url}/unsubscribe?token=PREVIEW"
        )
        _write(html, email.html)
        _write(text, f"Subject: {email.subject}\n\n{email.text}")
    if slack_json:
        message = renderer.slack(digest)
        payload = {"text": message.text, "blocks": message.blocks}
        _write(slack_json, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def _preview_endpoint(sub: Subscriber, channel: int | None) -> Endpoint:
    if channel is not None:
        for ep in sub.endpoints:
            if ep.id == channel:
                return ep
        fail(f"channel {channel} is not one of {sub.name}'s (see: subscribers show)", 2)
    if sub.endpoints:
        return sub.endpoints[0]
    # No channel yet: preview as if a new one (id 0 has no history), so nothing is held back.
    return Endpoint(id=0, subscriber_id=sub.id, kind=EndpointKind.FILE, address="(preview)")


def next_digest(sub: Subscriber, now: datetime, last: date | None) -> tuple[date, str]:
    """The local date of the endpoint's next digest, and when it is due, in words."""
    tz = ZoneInfo(sub.timezone)
    due = due_digest_date(sub, now, last)
    if due is not None:
        return due, "due now"
    at = next_send_at(sub, now, last).astimezone(tz)
    state = "" if sub.active else "; paused, so not sent until resumed"
    return at.date(), f"due {at:%H:%M} {sub.timezone}{state}"


def _print_digest(digest: Digest, n_candidates: int, when: str) -> None:
    ep = digest.endpoint
    out.print(
        Text(
            f"{digest.subscriber.name} - {day_label(digest.digest_date)} ({when}) - "
            f"{endpoint_label(ep)}: {len(digest.items)} paper(s)"
            + (f" + {digest.more} more" if digest.more else "")
            + f" from {n_candidates} new candidate(s)"
        ),
        soft_wrap=True,
    )
    if digest.is_empty:
        out.print("nothing matches: no digest would be sent (unless delivery.send_empty)")
        return
    table = Table("#", "score", "paper", "why", show_lines=False)
    for i, item in enumerate(digest.items, 1):
        table.add_row(
            str(i),
            f"{item.match.score:.2f}",
            escape(one_line(item.paper.title, 90)),
            escape(one_line(", ".join(item.match.interests), 50)),
        )
    out.print(table)


def _write(path: Path | None, content: str) -> None:
    if path is None:
        return
    try:
        path.write_text(content, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    err.print(Text(f"wrote {path}"))


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's commands to ``app`` and its benchmarks to ``bench``."""
    app.add_typer(digest_app, name="digest")

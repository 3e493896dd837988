"""``alertbot subscribers ...``: the subscriber service on the command line.

Options are validated by the service's schema (``alertbot/subscribers/spec.py``), the
same as an import file's entries and the web pages' forms; this module only maps
options to fields and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from alertbot import validate
from alertbot.cli.common import (
    ConfigOption,
    JsonOption,
    Ref,
    Typer,
    endpoint_label,
    err,
    fail,
    fail_lines,
    find_or_fail,
    note,
    open_store,
    out,
    print_json,
    progress,
    settings,
    store_exists,
    subscriber_service,
)
from alertbot.cli.subscriber_options import (
    Day,
    Emails,
    Excludes,
    Freq,
    Interests,
    MaxPapers,
    MinScore,
    SendTime,
    SlackChannels,
    SlackUsers,
    Zone,
    limits,
    raw_options,
    refused,
    spec_from,
)
from alertbot.model import Subscriber
from alertbot.render.parts import one_line
from alertbot.samples import example_text
from alertbot.store.deliveries import recent_outbox
from alertbot.subscribers import (
    NewSubscriber,
    Refused,
    SubscriberChanges,
)
from alertbot.subscribers.importing import read_entries, validate_entries

subscribers_app = Typer(
    help="Manage subscribers: profiles, schedules and channels.", no_args_is_help=True
)


@subscribers_app.command("add")
def add(
    name: Annotated[str, typer.Option("--name", "-n", help="Display name (unique).")],
    email: Emails = None,
    slack_user: SlackUsers = None,
    slack_channel: SlackChannels = None,
    interest: Interests = None,
    exclude: Excludes = None,
    send_time: SendTime = None,
    tz: Zone = None,
    frequency: Freq = None,
    day: Day = None,
    min_score: MinScore = None,
    max_papers: MaxPapers = None,
    config: ConfigOption = None,
) -> None:
    """Add a subscriber with a profile, a schedule and channels (email, Slack)."""
    cfg = settings(config)
    raw = raw_options(
        name, email, slack_user, slack_channel, interest, exclude,
        send_time, tz, frequency, day, min_score, max_papers,
    )  # fmt: skip
    spec = spec_from(cfg, raw, NewSubscriber)
    service = subscriber_service(cfg, open_store(cfg, create=True))
    try:
        sub = service.create(spec)
    except Refused as exc:
        refused(exc)
    out.print(Text(f"added subscriber {sub.id}: {sub.name}"))
    if not sub.endpoints:
        note("no channel yet: add one with edit --email/--slack-user")


def subscriber_json(sub: Subscriber) -> dict[str, Any]:
    """One subscriber as ``subscribers list --json`` prints it."""
    return {
        "id": sub.id,
        "name": sub.name,
        "active": sub.active,
        "frequency": sub.frequency.value,
        "day": validate.WEEKDAYS[sub.weekly_day] if sub.frequency.value == "weekly" else None,
        "send_time": f"{sub.send_time:%H:%M}",
        "timezone": sub.timezone,
        "interests": list(sub.profile.interests),
        "exclusions": list(sub.profile.exclusions),
        "min_score": sub.profile.min_score,
        "max_papers": sub.profile.max_papers,
        "channels": [
            {
                "id": e.id,
                "kind": e.kind.value,
                "address": e.address,
                "slack_team": e.slack_team_id,
                "active": e.active,
                "confirmed": e.confirmed,
                "disabled_reason": e.disabled_reason,
            }
            for e in sub.endpoints
        ],
    }


@subscribers_app.command("list")
def list_(
    active_only: Annotated[bool, typer.Option("--active", help="Only active ones.")] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List subscribers: schedule, profile size and channels.

    With --json: a list of objects with id, name, active, frequency, day, send_time,
    timezone, interests, exclusions, min_score, max_papers and channels.
    """
    cfg = settings(config)
    subs = subscriber_service(cfg, open_store(cfg)).list(active_only=active_only)
    if as_json:
        print_json([subscriber_json(sub) for sub in subs])
        return
    if not subs:
        note("no subscribers yet: alertbot subscribers add --name ... (or import FILE)")
        return
    table = Table("id", "name", "state", "schedule", "interests", "channels")
    for sub in subs:
        table.add_row(
            str(sub.id),
            escape(sub.name),
            "active" if sub.active else "[yellow]paused[/]",
            escape(_schedule(sub)),
            str(len(sub.profile.interests)),
            escape(", ".join(endpoint_label(e) for e in sub.endpoints) or "-"),
        )
    out.print(table)


def _schedule(sub: Subscriber) -> str:
    when = sub.frequency.value
    if sub.frequency.value == "weekly":
        when += " on " + validate.WEEKDAYS[sub.weekly_day]
    return f"{when} {sub.send_time:%H:%M} {sub.timezone}"


@subscribers_app.command("show")
def show(ref: Ref, config: ConfigOption = None) -> None:
    """Show one subscriber: profile, schedule, channels and recent digests."""
    cfg = settings(config)
    engine = open_store(cfg)
    sub = find_or_fail(subscriber_service(cfg, engine), ref)
    lines = [
        f"subscriber {sub.id}: {sub.name} ({'active' if sub.active else 'paused'})",
        f"schedule: {_schedule(sub)}",
        f"profile: min score {sub.profile.min_score:g}, at most {sub.profile.max_papers} papers",
    ]
    lines += [f"  interest {i}: {q}" for i, q in enumerate(sub.profile.interests, 1)]
    lines += [f"  exclusion {i}: {q}" for i, q in enumerate(sub.profile.exclusions, 1)]
    if not sub.profile.interests:
        lines.append("  (no interests: nothing will match)")
    lines.append("channels:" if sub.endpoints else "channels: none")
    lines += [f"  [{e.id}] {endpoint_label(e)}" for e in sub.endpoints]
    for line in lines:
        out.print(Text(line))
    rows = recent_outbox(engine, [e.id for e in sub.endpoints])
    if rows:
        table = Table("digest date", "channel", "state", "papers", "attempts", "sent", "error")
        for r in rows:
            table.add_row(
                r.digest_date.isoformat(),
                str(r.endpoint_id),
                r.state,
                str(r.n_papers),
                str(r.attempts),
                f"{r.sent_at:%Y-%m-%d %H:%M}" if r.sent_at else "-",
                escape(one_line(r.last_error or "", 60)),
            )
        out.print(table)
    else:
        out.print("no digest queued yet")


@subscribers_app.command("edit")
def edit(
    ref: Ref,
    name: Annotated[str | None, typer.Option("--name", "-n", help="New display name.")] = None,
    email: Emails = None,
    slack_user: SlackUsers = None,
    slack_channel: SlackChannels = None,
    interest: Annotated[
        list[str] | None,
        typer.Option("--interest", "-i", help="Replace all interests (repeatable)."),
    ] = None,
    add_interest: Annotated[
        list[str] | None, typer.Option("--add-interest", help="Add an interest.")
    ] = None,
    remove_interest: Annotated[
        list[int] | None, typer.Option("--remove-interest", help="Remove interest number N.")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", "-x", help="Replace all exclusions.")
    ] = None,
    send_time: SendTime = None,
    tz: Zone = None,
    frequency: Freq = None,
    day: Day = None,
    min_score: MinScore = None,
    max_papers: MaxPapers = None,
    remove_channel: Annotated[
        list[int] | None, typer.Option("--remove-channel", help="Remove the channel with this ID.")
    ] = None,
    enable_channel: Annotated[
        list[int] | None,
        typer.Option("--enable-channel", help="Re-enable the disabled channel with this ID."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Change a subscriber; options not given stay as they are. Channels are added."""
    cfg = settings(config)
    service = subscriber_service(cfg, open_store(cfg))
    sub = find_or_fail(service, ref)
    interests = list(interest) if interest else list(sub.profile.interests)
    for number in sorted(set(remove_interest or ()), reverse=True):
        if not 1 <= number <= len(interests):
            fail(f"there is no interest number {number} (there are {len(interests)})", 2)
        del interests[number - 1]
    interests += add_interest or []
    changed_interests = bool(interest or add_interest or remove_interest)
    raw = raw_options(
        name, email, slack_user, slack_channel,
        interests if changed_interests else None, exclude,
        send_time, tz, frequency, day, min_score, max_papers,
    )  # fmt: skip
    spec = spec_from(cfg, raw, SubscriberChanges)
    if changed_interests and not interests:
        note("no interests left: nothing will match")
    try:
        updated = service.update(
            sub, spec, remove_channels=remove_channel or (), enable_channels=enable_channel or ()
        )
    except Refused as exc:
        refused(exc)
    out.print(Text(f"updated subscriber {updated.id}: {updated.name}"))


@subscribers_app.command("pause")
def pause(ref: Ref, config: ConfigOption = None) -> None:
    """Stop sending digests to a subscriber (profile and channels are kept)."""
    cfg = settings(config)
    service = subscriber_service(cfg, open_store(cfg))
    sub = service.pause(find_or_fail(service, ref).id)
    out.print(Text(f"paused subscriber {sub.id}: {sub.name}"))


@subscribers_app.command("resume")
def resume(ref: Ref, config: ConfigOption = None) -> None:
    """Send digests again to a paused subscriber."""
    cfg = settings(config)
    service = subscriber_service(cfg, open_store(cfg))
    sub = service.resume(find_or_fail(service, ref))
    out.print(Text(f"resumed subscriber {sub.id}: {sub.name}"))


@subscribers_app.command("remove")
def remove(
    ref: Ref,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    config: ConfigOption = None,
) -> None:
    """Delete a subscriber with its profile, channels and delivery history."""
    cfg = settings(config)
    service = subscriber_service(cfg, open_store(cfg))
    sub = find_or_fail(service, ref)
    if not yes and not typer.confirm(f"Delete subscriber {sub.id} ({sub.name}) for good?"):
        err.print("nothing deleted")
        raise typer.Exit(1)
    service.delete(sub.id)
    out.print(Text(f"removed subscriber {sub.id}: {sub.name}"))


@subscribers_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="TOML or JSON file of subscribers.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only.")] = False,
    config: ConfigOption = None,
) -> None:
    """Import subscribers from a TOML or JSON file (`alertbot subscribers example` shows one).

    Every entry is checked first; if any is wrong, every problem is listed and nothing is
    imported. Entries whose name already exists update that subscriber (channels are
    added, never removed), so importing the same file twice changes nothing.
    """
    cfg = settings(config)
    try:
        entries = read_entries(file)
    except ValueError as exc:
        fail(str(exc), 2)
    specs, problems = validate_entries(entries, limits(cfg))
    if problems:
        fail_lines(
            f"{file}: {len(problems)} problem(s), nothing imported", [str(p) for p in problems]
        )
    if dry_run and not store_exists(cfg):
        out.print(f"would import {len(specs)} subscriber(s): {len(specs)} new (no store yet)")
        return
    service = subscriber_service(cfg, open_store(cfg, create=True))
    try:
        with progress("importing", len(specs)) as advance:
            result = service.import_(specs, dry_run=dry_run, progress=lambda _done: advance())
    except Refused as exc:
        fail(f"{file}: {exc}; nothing imported", 2)
    verb = "would import" if dry_run else "imported"
    out.print(f"{verb} {len(specs)} subscriber(s): {result.created} new, {result.updated} updated")


@subscribers_app.command("example")
def example() -> None:
    """Print a commented example import file: every field, what it means, three entries.

    Start one with: alertbot subscribers example > subscribers.toml
    """
    typer.echo(example_text("subscribers"), nl=False)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's commands to ``app`` and its benchmarks to ``bench``."""
    app.add_typer(subscribers_app, name="subscribers")

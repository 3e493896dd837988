"""Subscriber commands: ``alertbot subscribers ...`` and ``alertbot digest preview``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from alertbot import validate
from alertbot.cli.common import ConfigOption, err, open_store, out, settings
from alertbot.cli.subscriber_spec import (
    SubscriberSpec,
    build_spec,
    read_entries,
    save_spec,
    validate_entries,
)
from alertbot.config import Settings
from alertbot.model import Endpoint, Subscriber
from alertbot.render.parts import one_line
from alertbot.schedule.clock import utcnow
from alertbot.store import subscribers as store
from alertbot.store.deliveries import recent_outbox

subscribers_app = typer.Typer(
    help="Manage subscribers: profiles, schedules and channels.", no_args_is_help=True
)

Ref = Annotated[str, typer.Argument(help="Subscriber id or exact name.", show_default=False)]
Interests = Annotated[
    list[str] | None,
    typer.Option("--interest", "-i", help="An interest query (repeat for several)."),
]
Excludes = Annotated[
    list[str] | None, typer.Option("--exclude", "-x", help="An exclusion query (repeatable).")
]
Emails = Annotated[list[str] | None, typer.Option("--email", help="An email address.")]
SlackUsers = Annotated[
    str | None, typer.Option("--slack-user", help="Slack DM: TEAM:USER, e.g. T012AB:U034CD.")
]
SlackChannels = Annotated[
    list[str] | None,
    typer.Option("--slack-channel", help="Slack channel: TEAM:CHANNEL, e.g. T012AB:C056EF."),
]
SendTime = Annotated[str | None, typer.Option("--time", help="Local send time, e.g. 08:30.")]
Zone = Annotated[str | None, typer.Option("--tz", help="IANA time zone, e.g. Europe/Paris.")]
Freq = Annotated[
    str | None, typer.Option("--frequency", help="daily, weekdays or weekly.", show_default=False)
]
Day = Annotated[str | None, typer.Option("--day", help="Day of a weekly digest: mon ... sun.")]
MinScore = Annotated[float | None, typer.Option("--min-score", help="Minimum match score.")]
MaxPapers = Annotated[int | None, typer.Option("--max-papers", help="Papers per digest (1-200).")]


def fail_text(message: str, code: int = 1) -> NoReturn:
    # Not common.fail: names, queries and paths may contain [brackets] (rich markup).
    err.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
    raise typer.Exit(code)


def _problems(header: str, problems: list[str], code: int = 2) -> NoReturn:
    err.print(Text.assemble(("error: ", "bold red"), header), soft_wrap=True)
    for problem in problems:
        err.print(Text(f"  {problem}"), soft_wrap=True)
    raise typer.Exit(code)


def find_or_fail(engine: Engine, ref: str) -> Subscriber:
    found = store.find_subscriber(engine, ref)
    if found is None:
        fail_text(
            f"no subscriber {ref!r} (give an id or the exact name; see: alertbot subscribers list)"
        )
    return found


def _raw_options(
    name: str | None,
    email: list[str] | None,
    slack_user: str | None,
    slack_channel: list[str] | None,
    interest: list[str] | None,
    exclude: list[str] | None,
    send_time: str | None,
    tz: str | None,
    frequency: str | None,
    day: str | None,
    min_score: float | None,
    max_papers: int | None,
) -> dict[str, Any]:
    raw = {
        "name": name,
        "email": email or None,
        "slack_user": slack_user,
        "slack_channel": slack_channel or None,
        "interests": interest or None,
        "exclusions": exclude or None,
        "send_time": send_time,
        "timezone": tz,
        "frequency": frequency,
        "day": day,
        "min_score": min_score,
        "max_papers": max_papers,
    }
    return {k: v for k, v in raw.items() if v is not None}


def _spec(cfg: Settings, raw: dict[str, Any], *, require_name: bool) -> SubscriberSpec:
    spec, problems = build_spec(
        raw,
        max_query_length=cfg.match.max_query_length,
        max_clauses=cfg.match.max_clauses,
        require_name=require_name,
    )
    if spec is None:
        _problems("invalid subscriber", [_option_name(p) for p in problems.items])
    return spec


_OPTIONS = {
    "timezone": "--tz",
    "send_time": "--time",
    "interests": "--interest",
    "exclusions": "--exclude",
}


def _option_name(problem: str) -> str:
    """``timezone: ...`` (the import file's field) as ``--tz: ...`` (the CLI's option)."""
    key, _, message = problem.partition(": ")
    return f"{_OPTIONS.get(key, '--' + key.replace('_', '-'))}: {message}"


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
    raw = _raw_options(
        name, email, slack_user, slack_channel, interest, exclude,
        send_time, tz, frequency, day, min_score, max_papers,
    )  # fmt: skip
    spec = _spec(cfg, raw, require_name=True)
    engine = open_store(cfg)
    if store.find_subscriber(engine, spec.name) is not None or spec.name.isdigit():
        fail_text(f"a subscriber named {spec.name!r} exists (or the name is a number); use edit", 2)
    try:
        sub = save_spec(engine, spec, now=utcnow(), existing=None, cfg=cfg)
    except ValueError as exc:
        fail_text(str(exc), 2)
    out.print(Text(f"added subscriber {sub.id}: {sub.name}"))
    if not sub.endpoints:
        err.print("[yellow]note:[/] no channel yet: add one with edit --email/--slack-user")


@subscribers_app.command("list")
def list_(
    active_only: Annotated[bool, typer.Option("--active", help="Only active ones.")] = False,
    config: ConfigOption = None,
) -> None:
    """List subscribers: schedule, profile size and channels."""
    engine = open_store(settings(config))
    subs = store.list_subscribers(engine, active_only=active_only)
    if not subs:
        err.print("no subscribers yet: alertbot subscribers add --name ... (or import FILE)")
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


def endpoint_label(ep: Endpoint) -> str:
    address = f"{ep.slack_team_id}:{ep.address}" if ep.slack_team_id else ep.address
    label = f"{ep.kind.value} {address}"
    if not ep.active:
        label += " (disabled" + (f": {ep.disabled_reason}" if ep.disabled_reason else "") + ")"
    elif not ep.confirmed:
        label += " (unconfirmed)"
    return label


@subscribers_app.command("show")
def show(ref: Ref, config: ConfigOption = None) -> None:
    """Show one subscriber: profile, schedule, channels and recent digests."""
    engine = open_store(settings(config))
    sub = find_or_fail(engine, ref)
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
        out.print(Text(line), soft_wrap=True)
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
    engine = open_store(cfg)
    sub = find_or_fail(engine, ref)
    interests = list(interest) if interest else list(sub.profile.interests)
    for number in sorted(set(remove_interest or ()), reverse=True):
        if not 1 <= number <= len(interests):
            fail_text(f"there is no interest number {number} (there are {len(interests)})", 2)
        del interests[number - 1]
    interests += add_interest or []
    changed_interests = bool(interest or add_interest or remove_interest)
    raw = _raw_options(
        name, email, slack_user, slack_channel,
        interests if changed_interests else None, exclude,
        send_time, tz, frequency, day, min_score, max_papers,
    )  # fmt: skip
    spec = _spec(cfg, raw, require_name=False)
    own = {e.id for e in sub.endpoints}
    for endpoint_id in (*(remove_channel or ()), *(enable_channel or ())):
        if endpoint_id not in own:
            fail_text(
                f"channel {endpoint_id} is not one of {sub.name}'s (see: subscribers show)", 2
            )
    if spec.name and spec.name != sub.name:
        other = store.find_subscriber(engine, spec.name)
        if (other is not None and other.id != sub.id) or spec.name.isdigit():
            fail_text(f"a subscriber named {spec.name!r} exists (or the name is a number)", 2)
    if changed_interests and not interests:
        err.print("[yellow]note:[/] no interests left: nothing will match")
    try:
        with engine.begin() as conn:
            save_spec(conn, spec, now=utcnow(), existing=sub, cfg=cfg)
            for endpoint_id in remove_channel or ():
                store.remove_endpoint(conn, endpoint_id)
            for endpoint_id in enable_channel or ():
                store.set_endpoint_active(conn, endpoint_id, True)
    except ValueError as exc:
        fail_text(str(exc), 2)
    out.print(Text(f"updated subscriber {sub.id}: {spec.name or sub.name}"))


def _set_active(ref: str, active: bool, config: Path | None) -> None:
    engine = open_store(settings(config))
    sub = find_or_fail(engine, ref)
    store.update_subscriber(engine, sub.id, now=utcnow(), active=active)
    out.print(Text(f"{'resumed' if active else 'paused'} subscriber {sub.id}: {sub.name}"))


@subscribers_app.command("pause")
def pause(ref: Ref, config: ConfigOption = None) -> None:
    """Stop sending digests to a subscriber (profile and channels are kept)."""
    _set_active(ref, False, config)


@subscribers_app.command("resume")
def resume(ref: Ref, config: ConfigOption = None) -> None:
    """Send digests again to a paused subscriber."""
    _set_active(ref, True, config)


@subscribers_app.command("remove")
def remove(
    ref: Ref,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    config: ConfigOption = None,
) -> None:
    """Delete a subscriber with its profile, channels and delivery history."""
    engine = open_store(settings(config))
    sub = find_or_fail(engine, ref)
    if not yes and not typer.confirm(f"Delete subscriber {sub.id} ({sub.name}) for good?"):
        err.print("nothing deleted")
        raise typer.Exit(1)
    store.delete_subscriber(engine, sub.id)
    out.print(Text(f"removed subscriber {sub.id}: {sub.name}"))


@subscribers_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="TOML or JSON file of subscribers.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only.")] = False,
    config: ConfigOption = None,
) -> None:
    """Import subscribers from a file (format: config/subscribers.example.toml).

    Every entry is checked first; if any is wrong, every problem is listed and nothing is
    imported. Entries whose name already exists update that subscriber (channels are
    added, never removed), so importing the same file twice changes nothing.
    """
    cfg = settings(config)
    try:
        entries = read_entries(file)
    except ValueError as exc:
        fail_text(str(exc), 2)
    specs, problems = validate_entries(
        entries, max_query_length=cfg.match.max_query_length, max_clauses=cfg.match.max_clauses
    )
    if problems:
        _problems(
            f"{file}: {len(problems)} problem(s), nothing imported", [str(p) for p in problems]
        )
    engine = open_store(cfg)
    now = utcnow()
    created = updated = 0
    # One transaction: a failure half-way (a Slack user owned by someone else) imports
    # nothing; --dry-run runs everything and rolls back.
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            for spec in specs:
                existing = store.find_subscriber(conn, spec.name)
                save_spec(conn, spec, now=now, existing=existing, cfg=cfg)
                created += existing is None
                updated += existing is not None
        except ValueError as exc:
            tx.rollback()
            fail_text(f"{file}: {exc}; nothing imported", 2)
        if dry_run:
            tx.rollback()
        else:
            tx.commit()
    verb = "would import" if dry_run else "imported"
    out.print(f"{verb} {len(specs)} subscriber(s): {created} new, {updated} updated")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's commands to ``app`` and its benchmarks to ``bench``."""
    app.add_typer(subscribers_app, name="subscribers")
    # ``digest preview`` lives in digest_cmd (which imports this module), registered here
    # so that cli/__init__ needs no change.
    from alertbot.cli import digest_cmd

    digest_cmd.register(app, bench)

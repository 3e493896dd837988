"""The options ``alertbot subscribers add`` and ``edit`` share, and how they become the
subscriber service's spec (``alertbot/subscribers/spec.py``, the schema an import
file's entries and the web forms go through too), with problems named by option.
"""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer

from alertbot.cli.common import fail, fail_lines
from alertbot.config import Settings
from alertbot.subscribers import InvalidSubscriber, QueryLimits, Refused, SubscriberChanges, parse

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


def raw_options(
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
    """The options given, keyed by the import file's field names (None left out)."""
    raw = {
        "name": name,
        "email": email or None,
        "slack_user": slack_user,
        "slack_channel": slack_channel or None,
        "interests": interest,
        "exclusions": exclude or None,
        "send_time": send_time,
        "timezone": tz,
        "frequency": frequency,
        "day": day,
        "min_score": min_score,
        "max_papers": max_papers,
    }
    return {k: v for k, v in raw.items() if v is not None}


def limits(cfg: Settings) -> QueryLimits:
    """The query limits of ``[match]``, as the service checks them."""
    return QueryLimits(cfg.match.max_query_length, cfg.match.max_clauses)


def spec_from(cfg: Settings, raw: dict[str, Any], model: type[SubscriberChanges]) -> Any:
    """The service's spec from ``raw``, or exit 1 with every problem named by its option."""
    try:
        return parse(raw, model, limits(cfg))
    except InvalidSubscriber as exc:
        fail_lines("invalid subscriber", [_option_name(p) for p in exc.problems])


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


def refused(exc: Refused) -> NoReturn:
    """Exit 2 (a usage error) with the service's refusal."""
    fail(str(exc), 2)

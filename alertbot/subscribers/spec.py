"""A subscriber as people describe one, validated by pydantic.

One schema for every way in: the CLI's options, an import file's entries and the web
pages' forms. :class:`SubscriberChanges` is partial (a field not given stays as it is,
or takes its default for a new subscriber); :class:`NewSubscriber` also requires the
name. :func:`parse` collects every problem, not just the first, as ``field: message``
lines, so a file or a form can be fixed in one pass. The import format is documented
in ``config/subscribers.example.toml`` (``alertbot subscribers example``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import time
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
)

from alertbot import problems, validate
from alertbot.match import parse_query
from alertbot.model import EndpointKind, Frequency, Profile

MAX_NAME = 200
_SLACK_USER = re.compile(r"^(?P<team>[TE][A-Z0-9]{2,})[:/](?P<id>[UW][A-Z0-9]{2,})$")
_SLACK_CHANNEL = re.compile(r"^(?P<team>[TE][A-Z0-9]{2,})[:/](?P<id>[CGD][A-Z0-9]{2,})$")


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """The parser's limits (``[match]``), passed to validation as its context."""

    max_length: int = 500
    max_clauses: int = 40


class InvalidSubscriber(ValueError):
    """What was given cannot describe a subscriber; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _listed(value: Any) -> Any:
    # A list field may be given as one string: email = "ada@example.org".
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(value)
    raise ValueError("must be a string or a list of strings")


def _stripped(value: str) -> str:
    return value.strip()


def _no_blanks(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _query(query: str, info: ValidationInfo) -> str:
    limits = info.context if isinstance(info.context, QueryLimits) else QueryLimits()
    if query:
        parse_query(query, max_length=limits.max_length, max_clauses=limits.max_clauses)
    return query


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValueError("required, a non-empty string")
    if len(name) > MAX_NAME or any(c in name for c in "\r\n\t"):
        raise ValueError(f"at most {MAX_NAME} characters on one line")
    if name.isdigit():
        raise ValueError(f"{name!r} is a number, which reads as a subscriber id: add a word")
    return name


def slack_address(text: str, *, channel: bool) -> tuple[str, str]:
    """(team id, user or channel id) from ``T0123:U0456`` / ``T0123:C0789``."""
    m = (_SLACK_CHANNEL if channel else _SLACK_USER).match(text.strip())
    if not m:
        what = "channel" if channel else "user"
        example = "T0123ABC:C0456DEF" if channel else "T0123ABC:U0456DEF"
        raise ValueError(
            f"not a Slack {what}: {text!r} (use TEAM:{what.upper()}, for example {example})"
        )
    return m["team"], m["id"]


def _slack_user(value: Any) -> tuple[str, str]:
    texts = set(_listed(value))
    if not all(isinstance(t, str) for t in texts):
        raise ValueError("must be a string or a list of strings")
    users = {slack_address(t, channel=False) for t in texts}
    if len(users) != 1:
        raise ValueError("a subscriber is one Slack user; give exactly one")
    return users.pop()


def _slack_channel(value: Any) -> tuple[str, str]:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return slack_address(value, channel=True)


def _text(parse: Any) -> Any:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, not {type(value).__name__}")
        return parse(value)

    return check


def _send_time(value: Any) -> time:
    # TOML has a native time of day (send_time = 07:30:00); a string is parsed.
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    parsed: time = _text(validate.send_time)(value)
    return parsed


def _day(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= 6:
            raise ValueError(f"a day number runs from 0 (Monday) to 6, not {value}")
        return value
    day: int = _text(validate.weekday)(value)
    return day


Name = Annotated[str, AfterValidator(_name)]
Query = Annotated[str, AfterValidator(_stripped), AfterValidator(_query)]
Queries = Annotated[
    tuple[Query, ...], BeforeValidator(_listed), AfterValidator(_no_blanks)
]  # fmt: skip
Email = Annotated[str, AfterValidator(validate.email)]
SlackChannel = Annotated[tuple[str, str], BeforeValidator(_slack_channel)]


class SubscriberChanges(BaseModel):
    """Validated values; a field left None was not given (keep it, or use the default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Name | None = None
    email: Annotated[tuple[Email, ...], BeforeValidator(_listed)] = ()
    slack_user: Annotated[tuple[str, str], BeforeValidator(_slack_user)] | None = None
    slack_channel: Annotated[tuple[SlackChannel, ...], BeforeValidator(_listed)] = ()
    interests: Queries | None = None
    exclusions: Queries | None = None
    timezone: Annotated[str, BeforeValidator(_text(validate.timezone))] | None = None
    send_time: Annotated[time, BeforeValidator(_send_time)] | None = None
    frequency: Annotated[Frequency, BeforeValidator(_text(validate.frequency))] | None = None
    day: Annotated[int, BeforeValidator(_day)] | None = None
    min_score: Annotated[float, Field(ge=0)] | None = None
    max_papers: Annotated[int, Field(ge=1, le=200)] | None = None
    active: bool | None = None

    def endpoints(self) -> Iterator[tuple[EndpointKind, str, str | None]]:
        """(kind, address, Slack team) of each channel given, in the order given."""
        for address in self.email:
            yield EndpointKind.EMAIL, address, None
        if self.slack_user is not None:
            team, user = self.slack_user
            yield EndpointKind.SLACK_USER, user, team
        for team, channel in self.slack_channel:
            yield EndpointKind.SLACK_CHANNEL, channel, team

    def profile(self, base: Profile | None = None) -> Profile:
        """The profile this describes, taking the parts not given from ``base``."""
        base = base or Profile()
        return Profile(
            interests=self.interests if self.interests is not None else base.interests,
            exclusions=self.exclusions if self.exclusions is not None else base.exclusions,
            min_score=self.min_score if self.min_score is not None else base.min_score,
            max_papers=self.max_papers if self.max_papers is not None else base.max_papers,
        )


class NewSubscriber(SubscriberChanges):
    """A subscriber to create (or to update by name, in an import): the name is required."""

    name: Name


FIELDS = tuple(SubscriberChanges.model_fields)
_LABELS = {"interests": "interest", "exclusions": "exclusion"}
Spec = TypeVar("Spec", bound=SubscriberChanges)


def describe(error: Mapping[str, Any], given: Mapping[str, Any]) -> str:
    """One pydantic error as ``field: message``, a query error with its number and text."""
    loc = error["loc"]
    key = str(loc[0]) if loc else "(entry)"
    if error["type"] == "missing":
        return f"{key}: required"
    if error["type"] == "extra_forbidden":
        return f"{key}: " + problems.unknown_key(key, FIELDS, noun="field")
    text = problems.message(error)  # type: ignore[arg-type]
    if key in _LABELS and len(loc) > 1 and isinstance(loc[1], int):
        queries = _listed(given[key]) if isinstance(given.get(key), str | list) else ()
        number = loc[1] + 1
        query = queries[loc[1]] if loc[1] < len(queries) else error.get("input")
        return f"{key}: {_LABELS[key]} {number} {query!r}: {text}"
    return f"{key}: {text}"


def parse(raw: Mapping[str, Any], model: type[Spec], limits: QueryLimits | None = None) -> Spec:
    """``raw`` (an import entry, the CLI's options, a form) validated as ``model``.

    Raises :class:`InvalidSubscriber` listing every problem.
    """
    try:
        return model.model_validate(dict(raw), context=limits or QueryLimits())
    except ValidationError as exc:
        lines = [describe(e, raw) for e in exc.errors(include_url=False)]
        raise InvalidSubscriber(list(dict.fromkeys(lines))) from None


__all__ = [
    "InvalidSubscriber",
    "NewSubscriber",
    "QueryLimits",
    "SubscriberChanges",
    "parse",
    "slack_address",
]

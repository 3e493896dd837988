"""A subscriber as the CLI and the import file describe it, validated and saved in one place.

``alertbot subscribers add``, ``edit`` and ``import`` all turn user text into a
:class:`SubscriberSpec` here, so the same input gives the same error everywhere. Every
problem is collected (not just the first) as ``field: message``, so an import file can
be fixed in one pass. The file format is documented in
``config/subscribers.example.toml``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any

from alertbot import validate
from alertbot.config import Settings
from alertbot.match import QueryError, parse_query
from alertbot.model import EndpointKind, Frequency, Profile, Subscriber
from alertbot.store import subscribers as store
from alertbot.store.db import Db, transaction

_SLACK_USER = re.compile(r"^(?P<team>[TE][A-Z0-9]{2,})[:/](?P<id>[UW][A-Z0-9]{2,})$")
_SLACK_CHANNEL = re.compile(r"^(?P<team>[TE][A-Z0-9]{2,})[:/](?P<id>[CGD][A-Z0-9]{2,})$")
MAX_NAME = 200

# Keys an import entry may have; lists may also be given as a single string.
KEYS = frozenset(
    {
        "name",
        "email",
        "slack_user",
        "slack_channel",
        "interests",
        "exclusions",
        "timezone",
        "send_time",
        "frequency",
        "day",
        "min_score",
        "max_papers",
        "active",
    }
)


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    kind: EndpointKind
    address: str
    slack_team_id: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriberSpec:
    """Validated values; fields the input did not mention are None (keep / default)."""

    name: str
    interests: tuple[str, ...] | None = None
    exclusions: tuple[str, ...] | None = None
    min_score: float | None = None
    max_papers: int | None = None
    timezone: str | None = None
    send_time: time | None = None
    frequency: Frequency | None = None
    weekly_day: int | None = None
    active: bool | None = None
    endpoints: tuple[EndpointSpec, ...] = ()
    slack_user: tuple[str, str] | None = None  # (team, user): who this subscriber is

    def profile(self, base: Profile | None = None) -> Profile:
        """The profile this spec describes, taking unset parts from ``base``."""
        base = base or Profile()
        return Profile(
            interests=self.interests if self.interests is not None else base.interests,
            exclusions=self.exclusions if self.exclusions is not None else base.exclusions,
            min_score=self.min_score if self.min_score is not None else base.min_score,
            max_papers=self.max_papers if self.max_papers is not None else base.max_papers,
        )


@dataclass
class Problems:
    """Errors found while validating, each ``field: message``."""

    items: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def __bool__(self) -> bool:
        return bool(self.items)


def _strings(value: Any, where: str, problems: Problems) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        problems.add(where, "must be a string or a list of strings")
        return None
    return tuple(v.strip() for v in value if v.strip())


def slack_address(text: str, *, channel: bool) -> tuple[str, str]:
    """(team id, user or channel id) from ``T0123:U0456`` / ``T0123:C0789``."""
    pattern = _SLACK_CHANNEL if channel else _SLACK_USER
    m = pattern.match(text.strip())
    if not m:
        what = (
            "TEAM:CHANNEL, for example T0123ABC:C0456DEF"
            if channel
            else ("TEAM:USER, for example T0123ABC:U0456DEF")
        )
        raise ValueError(f"not a Slack {'channel' if channel else 'user'}: {text!r} (use {what})")
    return m["team"], m["id"]


def build_spec(
    raw: Mapping[str, Any],
    *,
    max_query_length: int = 500,
    max_clauses: int = 40,
    require_name: bool = True,
) -> tuple[SubscriberSpec | None, Problems]:
    """Validate one subscriber description (an import entry or the CLI's options)."""
    problems = Problems()
    for key in sorted(set(raw) - KEYS):
        problems.add(key, f"unknown field (known: {', '.join(sorted(KEYS))})")
    name = raw.get("name")
    if name is None and not require_name:
        name = ""
    if not isinstance(name, str) or (require_name and not name.strip()):
        problems.add("name", "required, a non-empty string")
        name = ""
    name = name.strip()
    if len(name) > MAX_NAME or any(c in name for c in "\r\n\t"):
        problems.add("name", f"at most {MAX_NAME} characters on one line")

    def check(key: str, parse: Any) -> Any:
        value = raw.get(key)
        if value is None:
            return None
        try:
            return parse(value)
        except (ValueError, TypeError) as exc:
            problems.add(key, str(exc))
            return None

    def text(fn: Any) -> Any:
        def parse(value: Any) -> Any:
            if not isinstance(value, str):
                raise TypeError(f"must be a string, not {type(value).__name__}")
            return fn(value)

        return parse

    timezone = check("timezone", text(validate.timezone))
    send_time = check("send_time", text(validate.send_time))
    frequency = check("frequency", text(validate.frequency))
    weekly_day = check("day", lambda v: v if _is_day_number(v) else text(validate.weekday)(v))
    min_score = check("min_score", _non_negative_float)
    max_papers = check("max_papers", _paper_cap)
    active = check("active", _boolean)

    endpoints: list[EndpointSpec] = []
    for address in _strings(raw.get("email"), "email", problems) or ():
        try:
            endpoints.append(EndpointSpec(EndpointKind.EMAIL, validate.email(address)))
        except ValueError as exc:
            problems.add("email", str(exc))
    slack_user: tuple[str, str] | None = None
    for address in _strings(raw.get("slack_user"), "slack_user", problems) or ():
        try:
            team, user = slack_address(address, channel=False)
        except ValueError as exc:
            problems.add("slack_user", str(exc))
            continue
        if slack_user is not None and slack_user != (team, user):
            problems.add("slack_user", "a subscriber is one Slack user; give at most one")
        slack_user = (team, user)
        endpoints.append(EndpointSpec(EndpointKind.SLACK_USER, user, team))
    for address in _strings(raw.get("slack_channel"), "slack_channel", problems) or ():
        try:
            team, channel = slack_address(address, channel=True)
        except ValueError as exc:
            problems.add("slack_channel", str(exc))
            continue
        endpoints.append(EndpointSpec(EndpointKind.SLACK_CHANNEL, channel, team))

    interests = _strings(raw.get("interests"), "interests", problems)
    exclusions = _strings(raw.get("exclusions"), "exclusions", problems)
    # Each query on its own, so every bad one is reported, not just the first.
    for key, label, queries in (
        ("interests", "interest", interests),
        ("exclusions", "exclusion", exclusions),
    ):
        for number, query in enumerate(queries or (), start=1):
            try:
                parse_query(query, max_length=max_query_length, max_clauses=max_clauses)
            except QueryError as exc:
                problems.add(key, f"{label} {number} {query!r}: {exc}")
    if problems:
        return None, problems
    return (
        SubscriberSpec(
            name=name,
            interests=interests,
            exclusions=exclusions,
            min_score=min_score,
            max_papers=max_papers,
            timezone=timezone,
            send_time=send_time,
            frequency=frequency,
            weekly_day=weekly_day,
            active=active,
            endpoints=tuple(dict.fromkeys(endpoints)),
            slack_user=slack_user,
        ),
        problems,
    )


def _is_day_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6


def _non_negative_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"must be a number >= 0, not {value!r}")
    return float(value)


def _paper_cap(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 200:
        raise ValueError(f"must be a whole number from 1 to 200, not {value!r}")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One problem in an import file: which entry, which field, what."""

    entry: int  # 1-based
    name: str
    message: str

    def __str__(self) -> str:
        label = f"entry {self.entry}" + (f" ({self.name})" if self.name else "")
        return f"{label}: {self.message}"


def read_entries(path: Path) -> list[Any]:
    """The subscriber entries of a TOML or JSON file (``[[subscriber]]`` or a list).

    Raises ValueError with a one-line message when the file cannot be read as either.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    # By suffix; otherwise JSON if it parses as JSON (TOML's "[[subscriber]]" also starts
    # with a bracket, so the first byte cannot decide), else TOML.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    parsed: Any
    if suffix == ".json" or (suffix != ".toml" and _is_json(text)):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from None
    else:
        try:
            parsed = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
    if isinstance(parsed, dict):
        unknown = set(parsed) - {"subscriber", "subscribers"}
        if unknown:
            raise ValueError(
                f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))} "
                "(expected [[subscriber]] tables)"
            )
        parsed = parsed.get("subscriber", parsed.get("subscribers", []))
    if not isinstance(parsed, list):
        raise ValueError(f"{path}: expected a list of subscribers")
    return parsed


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def validate_entries(
    entries: Sequence[Any], *, max_query_length: int = 500, max_clauses: int = 40
) -> tuple[list[SubscriberSpec], list[ImportProblem]]:
    """Validate every entry; names must be unique within the file."""
    specs: list[SubscriberSpec] = []
    problems: list[ImportProblem] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(ImportProblem(number, "", "must be a table / object"))
            continue
        raw_name = entry.get("name")
        name = raw_name.strip() if isinstance(raw_name, str) else ""
        spec, found = build_spec(entry, max_query_length=max_query_length, max_clauses=max_clauses)
        problems.extend(ImportProblem(number, name, p) for p in found.items)
        if spec is None:
            continue
        if spec.name in seen:
            problems.append(
                ImportProblem(number, name, f"name: also used by entry {seen[spec.name]}")
            )
            continue
        seen[spec.name] = number
        specs.append(spec)
    return specs, problems


def save_spec(
    db: Db, spec: SubscriberSpec, *, now: datetime, existing: Subscriber | None, cfg: Settings
) -> Subscriber:
    """Create or update a subscriber from ``spec`` (endpoints are added, never removed)."""
    with transaction(db) as conn:
        if spec.slack_user is not None:
            owner = store.find_by_slack(conn, *spec.slack_user)
            if owner is not None and (existing is None or owner.id != existing.id):
                raise ValueError(
                    f"Slack user {':'.join(spec.slack_user)} is already subscriber "
                    f"{owner.name!r} (id {owner.id})"
                )
        if existing is None:
            sub = store.create_subscriber(
                conn,
                name=spec.name,
                now=now,
                profile=spec.profile(),
                timezone=spec.timezone or "UTC",
                send_time=spec.send_time or validate.send_time(cfg.subscribe.default_send_time),
                frequency=spec.frequency or Frequency.DAILY,
                weekly_day=spec.weekly_day or 0,
                active=True if spec.active is None else spec.active,
                slack_team_id=spec.slack_user[0] if spec.slack_user else None,
                slack_user_id=spec.slack_user[1] if spec.slack_user else None,
            )
        else:
            changes = {
                "name": spec.name or None,
                "timezone": spec.timezone,
                "send_time": spec.send_time,
                "frequency": spec.frequency,
                "weekly_day": spec.weekly_day,
                "active": spec.active,
            }
            sub = store.update_subscriber(
                conn, existing.id, now=now, **{k: v for k, v in changes.items() if v is not None}
            )
            profile = spec.profile(sub.profile)
            if profile != sub.profile:
                sub = store.set_profile(conn, sub.id, profile, now=now)
        for ep in spec.endpoints:
            store.add_endpoint(
                conn, sub.id, ep.kind, ep.address, now=now, slack_team_id=ep.slack_team_id
            )
        result = store.get_subscriber(conn, sub.id)
    if result is None:  # pragma: no cover - created or updated in this very transaction
        raise store.NotFound(f"subscriber {sub.id} vanished")
    return result

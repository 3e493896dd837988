"""The subscriber schema (pydantic): what people may write, and every problem at once."""

from __future__ import annotations

from datetime import time

import pytest

from alertbot.model import EndpointKind, Frequency, Profile
from alertbot.subscribers import (
    InvalidSubscriber,
    NewSubscriber,
    QueryLimits,
    SubscriberChanges,
    parse,
)


def problems(raw: dict[str, object], limits: QueryLimits | None = None) -> list[str]:
    with pytest.raises(InvalidSubscriber) as info:
        parse(raw, NewSubscriber, limits)
    return info.value.problems


def test_it_normalises_what_it_accepts() -> None:
    """Strings become lists, addresses and times are normalised, names are trimmed."""
    spec = parse(
        {
            "name": "  Ada ",
            "email": "Ada@Example.ORG",
            "interests": ['"graph neural"', " diffusion ", ""],
            "send_time": "7:30pm",
            "frequency": "Weekly",
            "day": "fri",
            "min_score": 2,
            "slack_user": "T0123ABC:U0789GHI",
            "slack_channel": ["T01AB:C02CD"],
        },
        NewSubscriber,
    )
    assert spec.name == "Ada"
    assert spec.interests == ('"graph neural"', "diffusion")
    assert (spec.send_time, spec.frequency, spec.day) == (time(19, 30), Frequency.WEEKLY, 4)
    assert spec.min_score == 2.0
    assert list(spec.endpoints()) == [
        (EndpointKind.EMAIL, "Ada@example.org", None),
        (EndpointKind.SLACK_USER, "U0789GHI", "T0123ABC"),
        (EndpointKind.SLACK_CHANNEL, "C02CD", "T01AB"),
    ]


def test_it_accepts_a_native_toml_time_and_a_day_number() -> None:
    """send_time = 07:30:00 (a TOML time) and day = 2 are fine as they are."""
    spec = parse({"name": "B", "send_time": time(7, 30, 15), "day": 2}, NewSubscriber)
    assert (spec.send_time, spec.day) == (time(7, 30), 2)


def test_it_reports_every_problem_with_its_field() -> None:
    """Each bad field gives one line ``field: message``; nothing stops at the first."""
    found = problems(
        {
            "name": "123",
            "colour": "blue",
            "email": ["bob@", 3],
            "timezone": "Nowhere/Land",
            "send_time": "25:00",
            "day": 9,
            "min_score": True,
            "max_papers": 500,
            "active": "yes",
        }
    )
    for start in (
        "name: '123' is a number",
        "colour: unknown field",
        "email: not a valid email address: 'bob@'",
        "email: input should be a valid string, not 3",
        "timezone: unknown time zone 'Nowhere/Land'",
        "send_time: not a time of day: '25:00'",
        "day: a day number runs from 0 (Monday) to 6, not 9",
        "min_score: input should be a valid number, not True",
        "max_papers: input should be less than or equal to 200, not 500",
        "active: input should be a valid boolean, not 'yes'",
    ):
        assert any(p.startswith(start) for p in found), (start, found)
    assert len(found) == 10


def test_a_bad_query_is_refused_with_its_number_text_and_column() -> None:
    """interests: interest 2 '(open': ... at column 1 - under the configured limits."""
    found = problems({"name": "Q", "interests": ["ok", "(open", "a OR"]})
    assert found[0].startswith("interests: interest 2 '(open': ")
    assert found[0].endswith("at column 1")
    assert found[1].startswith("interests: interest 3 'a OR': OR needs a term after it")
    too_long = problems({"name": "Q", "exclusions": ["x" * 30]}, QueryLimits(max_length=20))
    assert too_long[0].startswith("exclusions: exclusion 1 ")


def test_a_misspelt_field_gets_a_suggestion() -> None:
    """``intrests`` -> did you mean 'interests'?"""
    (found,) = problems({"name": "S", "intrests": ["x"]})
    assert found == "intrests: unknown field (did you mean 'interests'?)"


def test_a_new_subscriber_needs_a_name_but_changes_do_not() -> None:
    """NewSubscriber requires the name; SubscriberChanges leaves everything optional."""
    assert problems({}) == ["name: required"]
    changes = parse({"max_papers": 5}, SubscriberChanges)
    assert changes.name is None
    assert changes.profile(Profile(interests=("a",))) == Profile(interests=("a",), max_papers=5)


def test_a_subscriber_is_one_slack_user() -> None:
    """Two different Slack users for one subscriber are refused."""
    (found,) = problems({"name": "T", "slack_user": ["T0123ABC:U0789GHI", "T0123ABC:U0789GHX"]})
    assert found == "slack_user: a subscriber is one Slack user; give exactly one"

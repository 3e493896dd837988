"""Validators turn what users type into values, or say plainly what is wrong."""

from __future__ import annotations

from datetime import time

import pytest

from alertbot import validate
from alertbot.model import Frequency


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Pacific/Chatham", "UTC"])
def test_it_accepts_iana_zones(zone: str) -> None:
    """Area/City names from the zone database are accepted unchanged."""
    assert validate.timezone(zone) == zone


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "CEST", "../../etc/passwd", "Europe/"])
def test_it_refuses_unknown_zones(zone: str) -> None:
    """Anything that is not a zone name is refused with a hint."""
    with pytest.raises(ValueError, match="unknown time zone"):
        validate.timezone(zone)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:30", time(8, 30)),
        ("8:30", time(8, 30)),
        ("7", time(7, 0)),
        ("7pm", time(19, 0)),
        ("12am", time(0, 0)),
        ("7:15 PM", time(19, 15)),
        ("23:59", time(23, 59)),
    ],
)
def test_it_reads_times_of_day(text: str, expected: time) -> None:
    """Common ways of writing a time are understood."""
    assert validate.send_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "8:60", "noon", "13pm", "", "8:3"])
def test_it_refuses_impossible_times(text: str) -> None:
    """Times that do not exist are refused."""
    with pytest.raises(ValueError, match="not a time of day"):
        validate.send_time(text)


def test_it_normalises_email_addresses() -> None:
    """The domain part is normalised; the local part is kept."""
    assert validate.email(" Ada@Example.ORG ") == "Ada@example.org"


@pytest.mark.parametrize("text", ["no-at-sign", "a@", "@b.org", "a b@c.org", "a@b..org"])
def test_it_refuses_bad_email_addresses(text: str) -> None:
    """Malformed addresses are refused with the reason."""
    with pytest.raises(ValueError, match="not a valid email address"):
        validate.email(text)


def test_it_reads_weekdays_and_frequencies() -> None:
    """Days by name or prefix, frequencies by name."""
    assert [validate.weekday(d) for d in ("mon", "Tuesday", "SUN")] == [0, 1, 6]
    assert validate.frequency("Weekdays") is Frequency.WEEKDAYS
    with pytest.raises(ValueError, match="not a day"):
        validate.weekday("mo")
    with pytest.raises(ValueError, match="unknown frequency"):
        validate.frequency("hourly")

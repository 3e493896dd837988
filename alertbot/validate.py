"""Validators for what subscribers type: time zones, addresses, times, days.

Each takes user text and returns the normalised value, or raises ``ValueError`` with a
message fit to show the user as is (the CLI, the Slack command and the importer all
print it unchanged).
"""

from __future__ import annotations

import re
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import email_validator

from alertbot.model import Frequency

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>[ap]m)?$", re.IGNORECASE)


def timezone(name: str) -> str:
    """An IANA zone name (``Europe/Paris``), checked against the zone database."""
    name = name.strip()
    # ZoneInfo also accepts file-system-like keys ("../x") on some platforms; the
    # available set is the list users can rely on.
    if not name or ("/" not in name and name != "UTC") or ".." in name:
        raise ValueError(f"unknown time zone {name!r}: use an Area/City name such as Europe/Paris")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an Area/City name such as Europe/Paris"
        ) from None
    if name not in _zones():
        raise ValueError(f"unknown time zone {name!r}: use an Area/City name such as Europe/Paris")
    return name


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


def email(address: str) -> str:
    """A syntactically valid email address, normalised (domain lower-cased, IDNA)."""
    try:
        result = email_validator.validate_email(address.strip(), check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {address!r} ({exc})") from None
    return str(result.normalized)


def send_time(text: str) -> time:
    """A local time of day: ``08:30``, ``8:30``, ``8``, ``7pm``, ``7:15 pm``."""
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(f"not a time of day: {text!r} (use HH:MM, for example 08:30)")
    hour, minute = int(m["h"]), int(m["m"] or 0)
    if m["ampm"]:
        if not 1 <= hour <= 12:
            raise ValueError(f"not a time of day: {text!r} (hours run 1-12 with am/pm)")
        hour = hour % 12 + (12 if m["ampm"].lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"not a time of day: {text!r} (use HH:MM, for example 08:30)")
    return time(hour, minute)


def weekday(text: str) -> int:
    """A day of the week by name or three-letter prefix, Monday = 0."""
    key = text.strip().lower()[:3]
    if len(text.strip()) < 3 or key not in WEEKDAYS:
        raise ValueError(f"not a day of the week: {text!r} (use mon, tue, ... sun)")
    return WEEKDAYS.index(key)


def frequency(text: str) -> Frequency:
    """``daily``, ``weekdays`` or ``weekly``."""
    try:
        return Frequency(text.strip().lower())
    except ValueError:
        choices = ", ".join(f.value for f in Frequency)
        raise ValueError(f"unknown frequency {text!r}: use one of {choices}") from None

"""A clock for tests: every reading is one second later than the last."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta


class Clock:
    """Starts at 2026-03-01 08:00 UTC and ticks one second per call."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def due_a_minute_ago(now: datetime) -> time:
    """A local send time (UTC readers) that passed a minute before ``now``: the digest is
    due at once, and the next one, which bounds how long a failed one is retried, is
    about a day away whatever the time of day a test runs at."""
    return (now - timedelta(minutes=1)).time().replace(second=0, microsecond=0)

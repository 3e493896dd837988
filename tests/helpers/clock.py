"""A clock for tests: every reading is one second later than the last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Starts at 2026-03-01 08:00 UTC and ticks one second per call."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

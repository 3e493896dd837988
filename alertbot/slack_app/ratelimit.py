"""A per-user limit on /subscribe commands: a sliding window of one minute.

In memory, per process: the service runs one web process, and a limit that resets on
restart is good enough against a user (or a script) hammering the command.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=1)


class RateLimiter:
    """Allows ``per_minute`` events per key in any 60-second window; the clock is injected."""

    def __init__(self, per_minute: int, *, now: Callable[[], datetime]) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self._now = now
        self._events: dict[Hashable, deque[datetime]] = {}
        self._lock = threading.Lock()

    def allow(self, key: Hashable) -> bool:
        """Count one event for ``key``; False (and not counted) if over the limit."""
        now = self._now()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and now - events[0] >= WINDOW:
                events.popleft()
            if len(events) >= self.per_minute:
                return False
            events.append(now)
            if len(self._events) > 10_000:
                self._forget_idle(now)
            return True

    def retry_after(self, key: Hashable) -> float:
        """Seconds until ``key`` may send again (0 if it may now)."""
        now = self._now()
        with self._lock:
            events = self._events.get(key)
            if not events or len(events) < self.per_minute:
                return 0.0
            return max((events[0] + WINDOW - now).total_seconds(), 0.0)

    def _forget_idle(self, now: datetime) -> None:
        # Bounded memory: drop keys whose last event left the window.
        for key in [k for k, ev in self._events.items() if not ev or now - ev[-1] >= WINDOW]:
            del self._events[key]

"""What the running service knows about itself that the database does not.

The scheduler's heartbeat job records each beat here; ``/healthz`` reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


def _never_running() -> bool:
    return False


@dataclass
class HealthState:
    """What the service knows about itself that the database does not.

    ``scheduler_running`` reports the scheduler's state; the heartbeat job calls
    :meth:`beat`, so a scheduler that says it runs but no longer runs jobs is caught
    once ``heartbeat_timeout`` passes without a beat.
    """

    started_at: datetime
    heartbeat_timeout: timedelta = timedelta(seconds=90)
    scheduler_running: Callable[[], bool] = _never_running
    last_heartbeat: datetime | None = field(default=None)

    def beat(self, now: datetime) -> None:
        """Record that a scheduler job ran at ``now``."""
        self.last_heartbeat = now

    def scheduler_alive(self, now: datetime) -> bool:
        """The scheduler runs and a job has run recently (or it has only just started)."""
        if not self.scheduler_running():
            return False
        since = self.last_heartbeat or self.started_at
        return now - since <= self.heartbeat_timeout

"""Progress of a long benchmark, one line per step, so a run of many minutes is never
silent (its figures come only at the end)."""

from __future__ import annotations

import time
from collections.abc import Callable


class StepLog:
    """Writes each step as it starts, with the time since the log was made."""

    def __init__(
        self, write: Callable[[str], None], clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.write = write
        self.clock = clock
        self.start = clock()

    def __call__(self, step: str) -> None:
        self.write(f"[{self.clock() - self.start:7.1f} s] {step}")

"""Processes that start work at the same instant, timed until the last one reports.

``bench deliver`` runs its workers and its parallel smtplib baseline this way. Each
target is called as ``target(*args, ready, go, results)``. It sets itself up (start-up is
not the work being measured), calls ``ready.release()``, waits on ``go``, does the
work, and puts its one result on ``results``.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from typing import Any


def run_together(
    target: Callable[..., None], arguments: Sequence[tuple[Any, ...]], *, what: str
) -> tuple[list[Any], float]:
    """Each process's result (in the order they finished), and the seconds from the
    common start to the last result. ``what`` names the processes in errors."""
    context = multiprocessing.get_context("spawn")  # no inherited engine or sockets
    ready, go, results = context.Semaphore(0), context.Event(), context.Queue()
    procs = [context.Process(target=target, args=(*a, ready, go, results)) for a in arguments]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            if not ready.acquire(timeout=60):
                raise RuntimeError(f"a {what} did not start")
        started = time.perf_counter()
        go.set()
        done = [results.get(timeout=600) for _ in procs]
        return done, time.perf_counter() - started
    finally:
        for proc in procs:
            proc.join(timeout=10)

"""Dispatcher ticks in planner processes, for ``alertbot bench tick --planners N``.

Each planner is a process of its own with its own engine and ``TickCaches`` kept from
run to run, as a dispatcher service keeps them. A run starts every planner's
``queue_report`` at once on the same store; they share the tick's buckets through the
advisory locks (``alertbot.deliver.queue``: a bucket one planner holds is skipped by the
others), and the run's time is from the start signal to the last planner's answer. On
SQLite, which has one writer, planners take turns: more of them cannot make a tick
faster there, and the bench says so rather than hiding it.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.corpus import CorpusCache
from alertbot.deliver.queue import TickCaches, queue_report
from alertbot.store import connect
from alertbot.tex import display

START_TIMEOUT = 120.0  # seconds for a planner process to start and connect
TICK_TIMEOUT = 1800.0  # seconds for one tick of every planner


@dataclass
class Tick:
    """One run of every planner: its wall time and what the planners did together."""

    seconds: float
    planned: int = 0
    looked_at: int = 0
    learned: int = 0
    phases: dict[str, float] = field(default_factory=dict)  # summed over the planners


def _one_tick(
    engine: Engine, settings: Settings, caches: TickCaches, now: datetime, *, new_day: bool
) -> Tick:
    """One planner's tick with the caches it kept; on a ``new_day`` the morning's fetch
    brought new papers, so the corpus and the TeX shown are worked out afresh (the
    compiled profiles are kept)."""
    if new_day:
        caches.corpus = CorpusCache()
        display.cache_clear()
    started = time.perf_counter()
    report = queue_report(engine, settings, now=now, caches=caches)
    seconds = time.perf_counter() - started
    return Tick(seconds, report.planned, report.looked_at, report.learned, dict(report.phases))


def _plan(settings: Settings, pipe: Connection) -> None:
    """A planner process: on each ``(now, new_day)`` it is sent, one tick; None ends it."""
    assert settings.database_url is not None  # the bench always names its store
    engine = connect(settings.database_url)
    caches = TickCaches()
    pipe.send("ready")
    try:
        while (order := pipe.recv()) is not None:
            now, new_day = order
            pipe.send(_one_tick(engine, settings, caches, now, new_day=new_day))
    finally:
        engine.dispose()


class Planners:
    """``n`` planner processes on one store, ticked together."""

    def __init__(self, settings: Settings, n: int) -> None:
        context = multiprocessing.get_context("spawn")  # no inherited engine or sockets
        self._pipes: list[Connection] = []
        self._procs: list[Any] = []
        for _ in range(n):
            mine, theirs = context.Pipe()
            proc = context.Process(target=_plan, args=(settings, theirs), daemon=True)
            proc.start()
            self._pipes.append(mine)
            self._procs.append(proc)
        for pipe in self._pipes:
            if not pipe.poll(START_TIMEOUT) or pipe.recv() != "ready":
                raise RuntimeError("a bench planner did not start")

    def tick(self, now: datetime, *, new_day: bool) -> Tick:
        started = time.perf_counter()
        for pipe in self._pipes:
            pipe.send((now, new_day))
        answers: list[Tick] = []
        for pipe in self._pipes:
            if not pipe.poll(TICK_TIMEOUT):
                raise RuntimeError("a bench planner did not finish its tick")
            answers.append(pipe.recv())
        tick = Tick(time.perf_counter() - started)
        for each in answers:
            tick.planned += each.planned
            tick.looked_at += each.looked_at
            tick.learned += each.learned
            for name, seconds in each.phases.items():
                tick.phases[name] = tick.phases.get(name, 0.0) + seconds
        return tick

    def close(self) -> None:
        for pipe in self._pipes:
            with suppress(BrokenPipeError, OSError):
                pipe.send(None)
        for proc in self._procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)


class InProcess:
    """One planner in this process (``--planners 1``), ticked like :class:`Planners`."""

    def __init__(self, engine: Engine, settings: Settings, caches: TickCaches) -> None:
        self.engine, self.settings, self.caches = engine, settings, caches

    def tick(self, now: datetime, *, new_day: bool) -> Tick:
        return _one_tick(self.engine, self.settings, self.caches, now, new_day=new_day)

    def close(self) -> None:
        pass


@contextmanager
def planners(
    engine: Engine, settings: Settings, n: int, caches: TickCaches
) -> Iterator[Planners | InProcess]:
    """``n`` planners: in this process (with ``caches``) for one, else in processes."""
    found: Planners | InProcess = (
        InProcess(engine, settings, caches) if n <= 1 else Planners(settings, n)
    )
    try:
        yield found
    finally:
        found.close()

"""A rival: another process's call, made in the window between a tested call's read and
the write that read decides (tests/store/test_write_races.py says why SQLite has one).

The rival runs on its own engine, in a thread, when the tested engine sends the statement
picked; it is waited for only briefly, so a tested call that holds its lock there (the
rival then waits for it) passes as well as one whose rival's change it sees afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, event

T = TypeVar("T")


class Rival(Generic[T]):
    """A call another process makes, run once in a thread when the tested engine sends
    the statement :meth:`at` picks (just before it, or just after)."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._thread: threading.Thread | None = None
        self._results: list[T] = []
        self._errors: list[BaseException] = []

    def _run(self) -> None:
        try:
            self._results.append(self._call())
        except BaseException as exc:  # handed to the test by result()
            self._errors.append(exc)

    @contextmanager
    def at(
        self, engine: Engine, picks: Callable[[str], bool], *, after: bool = False
    ) -> Iterator[None]:
        def overtake(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if self._thread is None and picks(statement):
                self._thread = threading.Thread(target=self._run)
                self._thread.start()
                # With the tested call's lock held the rival waits for it (SQLite's write
                # lock, PostgreSQL's row lock); without, it commits in between.
                self._thread.join(timeout=0.5)

        name = "after_cursor_execute" if after else "before_cursor_execute"
        event.listen(engine, name, overtake)
        try:
            yield
        finally:
            event.remove(engine, name, overtake)
            if self._thread is not None:
                self._thread.join(timeout=15)

    def result(self) -> T:
        """What the rival's call returned (or raised), once it has finished."""
        assert self._thread is not None, "no statement the rival waited for was sent"
        assert not self._thread.is_alive()
        if self._errors:
            raise self._errors[0]
        return self._results[0]


def starts(prefix: str) -> Callable[[str], bool]:
    return lambda statement: statement.lstrip().upper().startswith(prefix.upper())


def reads(table: str) -> Callable[[str], bool]:
    return lambda statement: starts("SELECT")(statement) and f"FROM {table} " in statement

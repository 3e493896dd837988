"""The collector is paused while a tick plans, and given back as it was found."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from alertbot.deliver.collector import collector_paused


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_it_pauses_and_turns_the_collector_back_on() -> None:
    """Inside, automatic collection is off; after, on again (also after an error)."""
    gc.enable()
    seen: list[bool] = []

    def failing_tick() -> None:
        with collector_paused():
            seen.append(gc.isenabled())
            raise RuntimeError("a failed tick")

    with pytest.raises(RuntimeError):
        failing_tick()
    assert seen == [False]
    assert gc.isenabled()


def test_nested_and_concurrent_pauses_end_with_the_last() -> None:
    """Two planners in one process: the collector comes back when both are done."""
    gc.enable()
    inner_done = threading.Event()
    release = threading.Event()

    def other_planner() -> None:
        with collector_paused():
            inner_done.set()
            release.wait(10)

    with collector_paused():
        thread = threading.Thread(target=other_planner)
        thread.start()
        assert inner_done.wait(10)
    assert not gc.isenabled()  # the other planner still plans
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_it_leaves_the_collector_off_if_it_was_off() -> None:
    """Someone else's gc.disable() is respected."""
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()

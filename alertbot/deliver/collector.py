"""Planning a tick's digests with the cyclic garbage collector paused.

A dispatcher tick builds hundreds of thousands of objects that live until each bucket's
rows are inserted (subscribers, profiles, plans, the shared matches and hits). With the
collector on, each allocation burst past its thresholds starts another pass over the
whole growing heap: measured with ``alertbot bench tick`` at 20,000 realistic readers,
a third of the tick's CPU time went to passes that found nothing to free (the tick's
objects are acyclic and freed by reference counting when the bucket is done).

The pause is process-wide, which is the point: a collection holds the interpreter lock
for its whole pass, so with the collector on during a tick the web and Slack threads
were stalled by those passes; paused, they run on and their own cyclic garbage (if any)
waits until the tick is planned (seconds; at 100,000 due readers, tens of seconds).
Nested or concurrent pauses (two planners in one process) count: the collector is back
on when the last one ends, and left off if something else had turned it off before.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Automatic garbage collection off for the ``with`` block (see the module)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()

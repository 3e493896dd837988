"""Logging: one line per event, ``key=value`` context, never a secret.

Modules log with ``log = logging.getLogger(__name__)`` and pass context as
``extra={"ctx": {"source": name, "outbox_id": 12}}``; the formatter appends it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

_CTX = "ctx"


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ctx: dict[str, Any] = getattr(record, _CTX, None) or {}
        if ctx:
            line += " " + " ".join(f"{k}={_quote(v)}" for k, v in ctx.items())
        return line


def _quote(value: Any) -> str:
    text = str(value)
    return repr(text) if (not text or any(c.isspace() or c in "\"'=" for c in text)) else text


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record.

    A plain StreamHandler keeps the stream it was given; when that is a stream someone
    has since closed (a test runner's capture), every later log line fails.
    """

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(level: str | int = "INFO") -> None:
    """Send alertbot's logs to stderr, one line each (journald adds the timestamp)."""
    handler = _StderrHandler()
    handler.setFormatter(KeyValueFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("alertbot")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False

"""Logging through structlog: one line per event, ``key=value`` context, never a secret.

Modules log with ``log = get_logger(__name__)`` and pass context as keyword arguments::

    log.info("digest sent", outbox_id=12, papers=5)

A misspelt keyword is still logged (structlog keeps every key), where the old
``extra={"ctx": {...}}`` dictionaries silently lost context on a typo.

structlog sits on the standard library's ``logging``: its processor chain (the level
check, context variables, then :func:`_to_stdlib`) hands each event to a ``logging``
logger, with the ``key=value`` text as the message and the event itself attached to the
record. So
uvicorn's, APScheduler's and our own lines go through one handler, pytest's ``caplog``
reads our lines as text, and :func:`configure` chooses how a line is written:

* ``text`` (the default): ``INFO alertbot.deliver.worker: digest sent outbox_id=12``,
  with an ISO timestamp in front when the process runs in the foreground (journald
  stamps every line itself, so under systemd there is none);
* ``json``: one JSON object per line (``event``, ``level``, ``logger``, ``timestamp``
  and the context), for journald's or a collector's structured fields.

Either way the line is written through :func:`alertbot.redact.redact_text`: credentials
in URLs and ``?token=``-like parameters are masked in every record, ours or a library's
(uvicorn's access log shows the unsubscribe links' tokens), tracebacks included.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, WrappedLogger

from alertbot.redact import redact_text

LogFormat = Literal["text", "json"]
_EVENT = "structlog_event"  # the record attribute that carries the event's context


# A value is quoted when it holds white space, a quote or "=" (one regex search: a
# per-character test was a tenth of a sent digest's bookkeeping, on its Message-ID).
_NEEDS_QUOTES = re.compile(r"[\s\"'=]").search


def _quote(value: Any) -> str:
    text = str(value)
    return repr(text) if not text or _NEEDS_QUOTES(text) else text


def key_values(event: str, context: dict[str, Any]) -> str:
    """``event key=value ...``, values quoted when they hold spaces or quotes."""
    if not context:
        return event
    return event + " " + " ".join(f"{k}={_quote(v)}" for k, v in context.items())


def _to_stdlib(
    _logger: WrappedLogger, _name: str, event_dict: EventDict
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The last processor: ``logging``'s arguments for one event."""
    exc_info = event_dict.pop("exc_info", None)
    event = str(event_dict.pop("event", ""))
    context = dict(event_dict)
    # "%s" keeps a "%" in the text from being read as a format directive.
    return ("%s", key_values(event, context)), {
        "exc_info": exc_info,
        "extra": {_EVENT: (event, context)},
    }


structlog.configure(
    # filter_by_level first: an event below the logger's level is dropped before its
    # line is built (the send loop's "digest sent" at the usual WARNING of a bench).
    processors=[
        structlog.stdlib.filter_by_level,
        structlog.contextvars.merge_contextvars,
        _to_stdlib,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """The logger modules use: ``log = get_logger(__name__)``."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


class LineFormatter(logging.Formatter):
    """Writes a record, ours or a library's, as one ``text`` or ``json`` line."""

    def __init__(self, *, format: LogFormat, timestamps: bool) -> None:
        super().__init__()
        self.json = format == "json"
        self.timestamps = timestamps

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        trace = self.formatException(record.exc_info) if record.exc_info else ""
        if self.json:
            event, context = getattr(record, _EVENT, None) or (record.getMessage(), {})
            fields = {"event": event, "level": record.levelname.lower(), "logger": record.name}
            fields.update(timestamp=stamp, **context)
            if trace:
                fields["exception"] = trace
            # Values redacted one by one: masking the encoded line could break its quoting.
            return json.dumps(
                {k: _redacted(v) for k, v in fields.items()}, default=str, ensure_ascii=False
            )
        # Our records' message is already their key=value text (_to_stdlib), a library's
        # its own message: built once per event.
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        if self.timestamps:
            line = f"{stamp} {line}"
        return redact_text(f"{line}\n{trace}" if trace else line)


def _redacted(value: Any) -> Any:
    """A JSON field's value with credentials masked; numbers and flags as they are."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(value if isinstance(value, str) else str(value))


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


def foreground() -> bool:
    """True unless journald reads our stderr (systemd sets ``JOURNAL_STREAM`` then)."""
    return not os.environ.get("JOURNAL_STREAM")


def configure(
    level: str | int = "INFO", *, format: LogFormat = "text", timestamps: bool | None = None
) -> None:
    """Send alertbot's logs, and those of the servers it runs, to stderr, one line each.

    ``timestamps`` defaults to :func:`foreground`.
    """
    handler = _StderrHandler()
    handler.setFormatter(
        LineFormatter(format=format, timestamps=foreground() if timestamps is None else timestamps)
    )
    for name in ("alertbot", "uvicorn", "apscheduler"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
    logging.getLogger("alertbot").setLevel(level)

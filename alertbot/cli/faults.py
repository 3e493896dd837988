"""Operator faults: trouble outside alertbot, said in one line, with a documented exit code.

A database that does not answer, a ``data_dir`` that cannot be written, an SQLite
store locked by another process: none is a bug, so none deserves a traceback. Each
command (``common.Command``) passes what escapes it through :func:`explain`; the README's
"Exit codes" table lists the codes.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError

OK = 0
FAILED = 1  # the command ran, but some of its work failed (a source, a digest)
USAGE = 2  # bad options or settings: nothing was done
PORT_IN_USE = 3  # `alertbot run` could not listen on web.host:web.port
DATABASE_UNREACHABLE = 69  # sysexits EX_UNAVAILABLE
CANNOT_WRITE = 73  # sysexits EX_CANTCREAT: read-only, no permission, disk full
STORE_LOCKED = 75  # sysexits EX_TEMPFAIL: try again once the other process is done

_WRITE_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}


@dataclass
class _Store:
    """What to call the store in a message, and its SQLite file (``common.open_store``)."""

    label: str = "the store"
    path: Path | None = None
    busy_timeout: float = 10.0

    def why_not_writable(self) -> str:
        """Why the SQLite file's folder cannot be written, as far as the system says."""
        if self.path is None:
            return "check the permissions of data_dir"
        folder = self.path.parent
        try:
            if os.statvfs(folder).f_flag & os.ST_RDONLY:
                return f"{folder} is on a read-only file system"
        except OSError:
            return f"{folder} does not exist or cannot be read"
        if not os.access(folder, os.W_OK) or (
            self.path.exists() and not os.access(self.path, os.W_OK)
        ):
            return f"no permission to write {folder} or the file in it"
        return "check the permissions of data_dir and of the file"


store = _Store()


@dataclass(frozen=True, slots=True)
class Fault:
    message: str
    code: int


def _sqlite(error: sqlite3.Error) -> Fault | None:
    text = str(error).lower()
    where = store.label
    if "locked" in text or "busy" in text:
        return Fault(
            f"the store {where} is locked by another process (an `alertbot send`, `run` or "
            f"`fetch`?) for longer than sqlite_busy_timeout_seconds ({store.busy_timeout:g} s); "
            "nothing was lost: run this again when that one is done",
            STORE_LOCKED,
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return Fault(f"cannot write the store {where}: {store.why_not_writable()}", CANNOT_WRITE)
    if "full" in text:
        return Fault(f"cannot write the store {where}: the disk is full", CANNOT_WRITE)
    if "disk i/o" in text:
        return Fault(f"cannot write the store {where}: disk I/O error", CANNOT_WRITE)
    return None


def _database(error: DBAPIError) -> Fault | None:
    orig = error.orig
    if isinstance(orig, sqlite3.Error):
        return _sqlite(orig)
    if error.connection_invalidated or type(orig).__name__ == "OperationalError":
        # psycopg's first line names the host, port and cause; the rest is advice in
        # several lines, which we give in one.
        lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
        detail = (lines[0] if lines else type(orig).__name__).removeprefix("connection failed: ")
        return Fault(
            f"cannot use the database {store.label}: {detail} (is the server running, and "
            "are database_url's host, port and credentials right?)",
            DATABASE_UNREACHABLE,
        )
    return None


def _os(error: OSError) -> Fault | None:
    if error.errno not in _WRITE_ERRNOS:
        return None
    what = error.filename or "a file in data_dir"
    reason = error.strerror or str(error)
    hint = " (free some space)" if error.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return Fault(f"cannot write {what}: {reason}{hint}", CANNOT_WRITE)


def explain(exc: BaseException) -> Fault | None:
    """The fault ``exc`` (or what caused it) stands for, or None for a real bug."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError):
            fault = _database(current)
        elif isinstance(current, sqlite3.Error):
            fault = _sqlite(current)
        elif isinstance(current, OSError):
            fault = _os(current)
        else:
            fault = None
        if fault is not None:
            return fault
        current = current.__cause__ or current.__context__
    return None

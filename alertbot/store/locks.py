"""PostgreSQL advisory lock classes, one per kind of read-then-write that must not run
twice at once, kept here so no two uses share a number by accident.

On SQLite none is needed: the store's write lock, taken before the read
(:func:`alertbot.store.db.serialise_writers`), excludes every other writer.
"""

from __future__ import annotations

from enum import IntEnum


class Lock(IntEnum):
    # One key (``pg_advisory_xact_lock(key)``): two processes starting at once.
    MIGRATIONS = 7236001
    # ``pg_try_advisory_xact_lock(class, bucket)``: one planner a bucket (deliver/queue.py).
    PLANNING = 7236002
    # ``serialise_writers`` classes (class, schema): a paper looked up, then stored...
    PAPERS = 7236003
    # ...a Slack user linked to a web account...
    SLACK_LINK = 7236004
    # ...an address found free, then signed up...
    SIGN_UP = 7236005
    # ...a subscriber's name found free, then given (``subscribers add``, import).
    NAMES = 7236006

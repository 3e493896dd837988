"""Subscribers kept between dispatcher ticks, reloaded only when they changed.

A tick needs every due subscriber as a :class:`~alertbot.model.Subscriber` (schedule,
profile, endpoints). Building 100,000 of them from their rows was 3 s of each
100,000-reader tick (``alertbot bench tick``), for subscribers nearly all the same as
the day before. Every write of a subscriber, its queries or its endpoints gives it a new
``version`` (:mod:`alertbot.store.subscribers`), so a tick reads the due subscribers'
versions (one narrow column) and rebuilds only those that moved; a subscriber deleted
since is dropped.

A Subscriber is kept with the version read with its row; its queries and endpoints are
read after the row, so what is kept is never older than its version says (at worst
newer, which costs one needless reload). Memory: about 1 kB a subscriber, for the ones
a dispatcher has planned.
"""

from __future__ import annotations

from collections.abc import Collection

from alertbot.model import Subscriber
from alertbot.store import subscribers as subscriber_store
from alertbot.store.db import Db


class KeptSubscribers:
    """The subscribers loaded by earlier calls, by id, each with its version."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[int, Subscriber]] = {}
        self.reloaded = 0  # subscribers built from their rows, over this keeper's life

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, db: Db, ids: Collection[int]) -> dict[int, Subscriber]:
        """These subscribers as stored now (those that exist), by id."""
        wanted = set(ids)
        now_at = subscriber_store.versions(db, wanted)
        for gone in wanted - now_at.keys():
            self._kept.pop(gone, None)
        stale = [
            i for i, version in now_at.items()
            if (kept := self._kept.get(i)) is None or kept[0] != version
        ]  # fmt: skip
        if stale:
            for version, subscriber in subscriber_store.versioned_subscribers(db, stale):
                self._kept[subscriber.id] = (version, subscriber)
            self.reloaded += len(stale)
        return {i: kept[1] for i in now_at if (kept := self._kept.get(i)) is not None}

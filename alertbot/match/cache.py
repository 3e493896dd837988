"""Keeping a compiled profile index across ticks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from alertbot.match.index import ProfileIndex
from alertbot.model import Profile

K = TypeVar("K")


class IndexCache(Generic[K]):
    """The last index built, reused while the profiles it was built from are unchanged.

    Building is the costly part for many profiles (parsing and compiling every distinct
    query) and depends only on the profiles; matching new papers with new statistics
    reuses it as is. Comparing the profiles costs a dict comparison per tick.
    """

    def __init__(self) -> None:
        self._profiles: dict[K, Profile] | None = None
        self._index: ProfileIndex[K] | None = None

    def get(self, profiles: Mapping[K, Profile]) -> ProfileIndex[K]:
        """An index of ``profiles``: the kept one if they are the same, else a new one."""
        wanted = dict(profiles)
        if self._index is None or self._profiles != wanted:
            self._index = ProfileIndex.build(wanted)
            self._profiles = wanted
        return self._index

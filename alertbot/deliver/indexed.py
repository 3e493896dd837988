"""One matching pass for a whole dispatcher tick, handed out per endpoint.

Every due profile is indexed once (``ProfileIndex``) and matched against the union of
the due endpoints' candidate papers. A match depends only on the profile, the paper
and the corpus statistics, never on which other papers are in the batch, and the index
ranks exactly as ``match_profile`` does (score, then published date, then id: a total
order, since ids are unique). So an endpoint's digest is the subscriber's ranked
matches over the union, kept to that endpoint's own candidates, cut at the cap.

The matches are a ``MatchTable`` (columns of paper and score per profile):
:meth:`IndexedMatches.chosen` walks a profile's ranked papers once, builds a ``Match``
(with its hits) only for the ``max_papers`` a digest shows and counts the rest. Pass an
``IndexCache`` kept between ticks to reuse the compiled profiles while they are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
import numpy.typing as npt

from alertbot.match import CorpusStats, IndexCache, MatchTable, QueryError, validate_profile
from alertbot.model import Match, Paper, Profile

_Queries = tuple[tuple[str, ...], tuple[str, ...]]


class IndexedMatches:
    """The matches of ``profiles`` (keyed by subscriber id) among ``papers``, computed once."""

    def __init__(
        self,
        profiles: Mapping[int, Profile],
        papers: Iterable[Paper],
        stats: CorpusStats,
        cache: IndexCache[int] | None = None,
    ) -> None:
        self.stats = stats
        self.errors: dict[int, QueryError] = {}
        cache = cache or IndexCache()
        union = list({paper.id: paper for paper in papers}.values())
        try:
            index = cache.get(profiles)
        except QueryError:
            # ProfileIndex.build refuses the whole set for one bad profile: find those
            # (their digests are planned dead with the reason) and index the rest. Many
            # subscribers share a profile, so each distinct one is parsed once here.
            index = cache.get(self._valid(profiles))
        self.table: MatchTable[int] = index.table(union, stats)
        self._indexed = set(index.keys)

    def _valid(self, profiles: Mapping[int, Profile]) -> dict[int, Profile]:
        parses: dict[_Queries, QueryError | None] = {}
        valid: dict[int, Profile] = {}
        for key, profile in profiles.items():
            queries = (profile.interests, profile.exclusions)
            if queries not in parses:
                parses[queries] = _error(profile)
            error = parses[queries]
            if error is None:
                valid[key] = profile
            else:
                self.errors[key] = error
        return valid

    def chosen(self, key: int, allows: Callable[[str], bool], cap: int) -> tuple[list[Match], int]:
        """Subscriber ``key``'s best ``cap`` matches among the papers ``allows`` accepts,
        and how many more it matched there. Raises the profile's ``QueryError``."""
        if key in self.errors:
            raise self.errors[key]
        if key not in self._indexed:
            return [], 0
        table = self.table
        i = table.position(key)
        lo, hi = int(table.ptr[i]), int(table.ptr[i + 1])
        papers = table.papers
        rows: list[int] = []
        more = 0
        for row, j in enumerate(table.paper[lo:hi].tolist(), lo):
            if allows(papers[j].id):
                if len(rows) < cap:
                    rows.append(row)
                else:
                    more += 1
        return table.build_rows(i, rows), more

    def chosen_since(
        self, key: int, positions: npt.NDArray[np.int64], start: int, cap: int
    ) -> tuple[list[Match], int]:
        """:meth:`chosen` where the papers allowed are those whose ``positions`` entry
        (one per table paper) is at least ``start``: one array comparison per reader
        instead of a call per ranked paper."""
        if key in self.errors:
            raise self.errors[key]
        if key not in self._indexed:
            return [], 0
        table = self.table
        i = table.position(key)
        lo, hi = int(table.ptr[i]), int(table.ptr[i + 1])
        rows = np.flatnonzero(positions[table.paper[lo:hi]] >= start)
        shown = (rows[:cap] + lo).tolist() if cap > 0 else []
        return table.build_rows(i, shown), len(rows) - len(shown)


def _error(profile: Profile) -> QueryError | None:
    try:
        validate_profile(profile)
    except QueryError as exc:
        return exc
    return None

"""One matching pass for a whole dispatcher tick, handed out per endpoint.

Every due profile is indexed once (``ProfileIndex``) and matched against the union of
the due endpoints' candidate papers. A match depends only on the profile, the paper
and the corpus statistics, never on which other papers are in the batch, and the index
ranks exactly as ``match_profile`` does (score, then published date, then id: a total
order, since ids are unique). So an endpoint's digest is the subscriber's ranked
matches over the union, kept to that endpoint's own candidates, cut at the cap.

The matches are a ``MatchTable`` (columns of paper and score per profile):
:meth:`IndexedMatches.chosen` walks a profile's ranked papers once and keeps the
``max_papers`` a digest shows as bare columns (papers and scores, explained by the
sender: :mod:`alertbot.store.chosen`), and the rest beyond them; no ``Match`` is built.
:meth:`IndexedMatches.ranked` (the learned order, ``like:`` interests) builds the shown
ones with their hits, since their reasons are not in any query's text. Pass an
``IndexCache`` kept between ticks to reuse the compiled profiles while they are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date

import numpy as np
import numpy.typing as npt

from alertbot.digest import Ranker
from alertbot.match import CorpusStats, IndexCache, MatchTable, QueryError, validate_profile
from alertbot.match.evaluate import Doc, PaperKey
from alertbot.model import Match, Paper, Profile, RankReason
from alertbot.store.chosen import NO_MATCHES, Bare

_Queries = tuple[tuple[str, ...], tuple[str, ...]]
# The matches beyond a digest's cap kept on its row for the web page: all of them for
# any real profile, and a bound for one that matches everything (its row stays small).
MAX_REST = 1000


class IndexedMatches:
    """The matches of ``profiles`` (keyed by subscriber id) among ``papers``, computed once."""

    def __init__(
        self,
        profiles: Mapping[int, Profile],
        papers: Iterable[Paper],
        stats: CorpusStats,
        cache: IndexCache[int] | None = None,
        docs: dict[PaperKey, Doc] | None = None,
    ) -> None:
        self.stats = stats
        self.errors: dict[int, QueryError] = {}
        cache = cache or IndexCache()
        self.by_id = {paper.id: paper for paper in papers}
        union = list(self.by_id.values())
        try:
            index = cache.get(profiles)
        except QueryError:
            # ProfileIndex.build refuses the whole set for one bad profile: find those
            # (their digests are planned dead with the reason) and index the rest. Many
            # subscribers share a profile, so each distinct one is parsed once here.
            index = cache.get(self._valid(profiles))
        self.table: MatchTable[int] = index.table(union, stats, docs)
        self._indexed = set(index.keys)
        self._ids: npt.NDArray[np.object_] | None = None  # the table's paper ids, as objects

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

    def chosen(
        self, key: int, allows: Callable[[str], bool], cap: int, keep: int = MAX_REST
    ) -> tuple[Bare, Bare, int]:
        """Subscriber ``key``'s best ``cap`` matches among the papers ``allows`` accepts,
        the next ``keep`` of the rest (both bare: papers and scores, see
        :class:`~alertbot.store.chosen.Bare`), and how many more it matched there beyond
        the cap. Raises the profile's ``QueryError``."""
        if key in self.errors:
            raise self.errors[key]
        if key not in self._indexed:
            return NO_MATCHES, NO_MATCHES, 0
        table = self.table
        i = table.position(key)
        lo, hi = int(table.ptr[i]), int(table.ptr[i + 1])
        papers = table.papers
        shown_ids: list[str] = []
        rows: list[int] = []
        rest_ids: list[str] = []
        rest_rows: list[int] = []
        more = 0
        for row, j in enumerate(table.paper[lo:hi].tolist(), lo):
            pid = papers[j].id
            if allows(pid):
                if len(rows) < cap:
                    shown_ids.append(pid)
                    rows.append(row)
                else:
                    if more < keep:
                        rest_ids.append(pid)
                        rest_rows.append(row)
                    more += 1
        return self._bare(i, shown_ids, rows), self._bare(i, rest_ids, rest_rows), more

    def chosen_since(
        self,
        key: int,
        positions: npt.NDArray[np.int64],
        start: int,
        cap: int,
        keep: int = MAX_REST,
    ) -> tuple[Bare, Bare, int]:
        """:meth:`chosen` where the papers allowed are those whose ``positions`` entry
        (one per table paper) is at least ``start``: one array comparison per reader
        instead of a call per ranked paper."""
        if key in self.errors:
            raise self.errors[key]
        if key not in self._indexed:
            return NO_MATCHES, NO_MATCHES, 0
        table = self.table
        i = table.position(key)
        lo, hi = int(table.ptr[i]), int(table.ptr[i + 1])
        rows = np.flatnonzero(positions[table.paper[lo:hi]] >= start) + lo
        cap = max(cap, 0)
        shown = rows[:cap].tolist()
        beyond = rows[cap : cap + keep].tolist()
        papers = table.papers
        shown_ids = [papers[j].id for j in table.paper[shown].tolist()]
        rest_ids = [papers[j].id for j in table.paper[beyond].tolist()]
        more = len(rows) - len(shown)
        return self._bare(i, shown_ids, shown), self._bare(i, rest_ids, beyond), more

    def chosen_since_many(
        self,
        wanted: Mapping[int, tuple[int, int]],
        positions: npt.NDArray[np.int64],
        keep: int = MAX_REST,
    ) -> dict[int, tuple[Bare, Bare, int]]:
        """:meth:`chosen_since` for many readers in one pass over the table's columns:
        ``wanted`` maps a subscriber to its ``(start, cap)``. Exactly what one call per
        reader returns, for those the index holds and that parse; the others are left
        out (ask :meth:`chosen_since`, which says why)."""
        table = self.table
        n_profiles = len(table.ptr) - 1
        start = np.full(n_profiles, np.iinfo(np.int64).max, dtype=np.int64)  # none allowed
        cap = np.zeros(n_profiles, dtype=np.int64)
        at: dict[int, int] = {}
        for key, (first, most) in wanted.items():
            if key in self._indexed and key not in self.errors:
                i = at[key] = table.position(key)
                start[i], cap[i] = first, max(most, 0)
        counts = np.diff(table.ptr)
        allowed = positions[table.paper] >= np.repeat(start, counts)
        # Each allowed row's rank among its profile's allowed rows, in ranked order.
        before = np.concatenate(([0], np.cumsum(allowed)))
        total = before[table.ptr[1:]] - before[table.ptr[:-1]]
        rank = before[1:] - 1 - np.repeat(before[table.ptr[:-1]], counts)
        cap_row = np.repeat(cap, counts)
        shown_rows = np.flatnonzero(allowed & (rank < cap_row))
        rest_rows = np.flatnonzero(allowed & (rank >= cap_row) & (rank < cap_row + keep))
        n_shown = np.minimum(total, cap)
        n_rest = np.clip(total - cap, 0, max(keep, 0))
        ids = self._paper_ids()
        columns = (
            (ids[table.paper[shown_rows]].tolist(), table.score[shown_rows].tolist(), n_shown),
            (ids[table.paper[rest_rows]].tolist(), table.score[rest_rows].tolist(), n_rest),
        )
        ends = [np.cumsum(n).tolist() for _, _, n in columns]
        out: dict[int, tuple[Bare, Bare, int]] = {}
        profiles = table.index.profiles
        for key, i in at.items():
            parts: list[Bare] = []
            for (pids, scores, n), end in zip(columns, ends, strict=True):
                hi = end[i]
                lo = hi - int(n[i])
                parts.append(
                    Bare(profiles[i].interests, pids[lo:hi], scores[lo:hi])
                    if hi > lo
                    else NO_MATCHES
                )
            out[key] = (parts[0], parts[1], int(total[i] - n_shown[i]))
        return out

    def _paper_ids(self) -> npt.NDArray[np.object_]:
        if self._ids is None:
            self._ids = np.array([p.id for p in self.table.papers], dtype=object)
        return self._ids

    def _bare(self, i: int, ids: list[str], rows: list[int]) -> Bare:
        if not ids:
            return NO_MATCHES
        table = self.table
        interests = table.index.profiles[i].interests
        return Bare(interests, ids, table.score[rows].tolist())

    def ranked(
        self,
        key: int,
        allows: Callable[[str], bool],
        cap: int,
        *,
        ranker: Ranker | None = None,
        extra: Mapping[str, Match] | None = None,
        keep: int = MAX_REST,
    ) -> tuple[list[Match], Bare, int, list[RankReason | None]]:
        """:meth:`chosen` with the reader's ``like:`` matches (``extra``, by paper: added to
        the keyword match of the same paper, else matches of their own) and in the learned
        order when a ``ranker`` is given. Every allowed match is ranked as a bare paper and
        score (all a ranker reads); only the ``cap`` kept are built with their hits.
        Returns them, the next ``keep`` beyond the cap as a ``Bare`` in the same
        (learned) order, the count beyond the cap, and each kept one's reason."""
        if key in self.errors:
            raise self.errors[key]
        table = self.table
        rows: dict[str, int] = {}
        scores: dict[str, float] = {}
        i = -1
        if key in self._indexed:
            i = table.position(key)
            lo, hi = int(table.ptr[i]), int(table.ptr[i + 1])
            for row, j in enumerate(table.paper[lo:hi].tolist(), lo):
                pid = table.papers[j].id
                if allows(pid):
                    rows[pid] = row
                    scores[pid] = float(table.score[row])
        for pid, match in (extra or {}).items():
            if pid in self.by_id and allows(pid):
                scores[pid] = scores.get(pid, 0.0) + match.score
        bare = [Match(pid, score, ()) for pid, score in scores.items()]
        if extra:  # ranked as match_profile ranks: score, then published, then id
            bare.sort(key=lambda m: _rank_key(m, self.by_id[m.paper_id]))
        ordered = ranker(bare) if ranker is not None else [(m, None) for m in bare]
        cap = max(cap, 0)
        kept = ordered[:cap]
        shown = [self._built(i, rows, extra or {}, m) for m, _ in kept]
        beyond = [m for m, _ in ordered[cap : cap + max(keep, 0)]]
        rest: Bare = NO_MATCHES
        if beyond:
            rest = Bare(
                self._interests(i, extra or {}),
                [m.paper_id for m in beyond],
                [m.score for m in beyond],
            )
        return shown, rest, len(bare) - len(shown), [reason for _, reason in kept]

    def _interests(self, i: int, extra: Mapping[str, Match]) -> tuple[str, ...]:
        """The interests a rest names (``explain_match`` narrows them per paper): the
        profile's, else (a profile the index left out) those its ``like:`` matches name."""
        if i >= 0:
            return self.table.index.profiles[i].interests
        return tuple(dict.fromkeys(name for m in extra.values() for name in m.interests))

    def _built(
        self, i: int, rows: Mapping[str, int], extra: Mapping[str, Match], m: Match
    ) -> Match:
        pid = m.paper_id
        liked = extra.get(pid)
        if pid not in rows:
            assert liked is not None
            return liked
        built = self.table.build(i, rows[pid])
        if liked is None:
            return built
        return Match(pid, m.score, built.interests + liked.interests, built.hits + liked.hits)


def _rank_key(match: Match, paper: Paper) -> tuple[float, int, str]:
    return (-match.score, -(paper.published or date.min).toordinal(), match.paper_id)


def _error(profile: Profile) -> QueryError | None:
    try:
        validate_profile(profile)
    except QueryError as exc:
        return exc
    return None

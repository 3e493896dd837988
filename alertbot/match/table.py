"""A matching pass's result as columns, with ``Match`` objects built only on demand.

``MatchTable`` holds, per profile (in the index's order), its matches ranked best first
as two columns: the paper (an index into the matched papers) and the score. That is
all the dispatcher needs to decide who gets what; the explanation of a match (which
interests, which terms, which character spans) is built by the reference evaluator
only for the matches a digest shows, so a tick costs one ``Match`` per shown item, not
one per match:

- ``count(key)``: how many papers the profile matched (``Digest.more`` is
  ``count - cap``);
- ``rows(key)``: its (paper index, score) columns, ranked;
- ``top(key, cap)``: its first ``cap`` Matches and the count beyond them;
- ``matches(key)``: a lazy, list-like ranked sequence of Matches (``len`` costs
  nothing; indexing or slicing builds only the Matches taken);
- ``as_dict()``: every Match of every profile (what ``ProfileIndex.match`` returns).

Every Match equals, field for field, the one ``match_profile`` gives for that profile.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import numpy as np
import numpy.typing as npt

from alertbot.match.evaluate import Doc, atom_spans
from alertbot.match.evaluate import matches as true_in
from alertbot.match.score import CorpusStats
from alertbot.model import Field, Hit, Match, Paper

if TYPE_CHECKING:
    from alertbot.match.index import ProfileIndex

K = TypeVar("K")


class MatchTable(Generic[K]):
    """Ranked matches of every indexed profile, as (paper, score) columns."""

    def __init__(
        self,
        index: ProfileIndex[K],
        papers: Sequence[Paper],
        docs: Sequence[Doc],
        stats: CorpusStats,
        ptr: npt.NDArray[np.int64],
        paper: npt.NDArray[np.int64],
        score: npt.NDArray[np.float64],
        truth: Truth,
    ) -> None:
        self.index = index
        self.truth = truth
        self._parts: dict[tuple[str, int], list[Hit]] = {}
        self._matches: dict[tuple[int, tuple[str, ...], float], Match] = {}
        self._spans: dict[int, list[tuple[Field, tuple[tuple[int, int], ...]]]] = {}
        self.papers = papers
        self.docs = docs
        self.stats = stats
        self.ptr = ptr  # profile i's rows are ptr[i]:ptr[i + 1]
        self.paper = paper
        self.score = score
        self._position: dict[K, int] | None = None

    def __len__(self) -> int:
        """The number of (profile, paper) matches."""
        return len(self.paper)

    def position(self, key: K) -> int:
        if self._position is None:
            self._position = {k: i for i, k in enumerate(self.index.keys)}
        return self._position[key]

    def count(self, key: K) -> int:
        i = self.position(key)
        return int(self.ptr[i + 1] - self.ptr[i])

    def rows(self, key: K) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The profile's (paper index, score) columns, best first."""
        i = self.position(key)
        lo, hi = int(self.ptr[i]), int(self.ptr[i + 1])
        return self.paper[lo:hi], self.score[lo:hi]

    def matches(self, key: K) -> LazyMatches:
        """The profile's ranked Matches, built as they are taken."""
        i = self.position(key)
        return LazyMatches(self, i, range(int(self.ptr[i]), int(self.ptr[i + 1])))

    def top(self, key: K, cap: int) -> tuple[list[Match], int]:
        """The profile's first ``cap`` Matches, and how many more matched."""
        found = self.matches(key)
        shown = list(found[: max(cap, 0)])
        return shown, len(found) - len(shown)

    def as_dict(self) -> dict[K, list[Match]]:
        """Every profile with a match, and all its Matches."""
        out: dict[K, list[Match]] = {}
        for i, key in enumerate(self.index.keys):
            lo, hi = int(self.ptr[i]), int(self.ptr[i + 1])
            if hi > lo:
                out[key] = self.build_rows(i, range(lo, hi))
        return out

    # Building Matches is where the collector still costs: what is built survives, so
    # full passes follow as the heap grows. A Match is therefore made once per distinct
    # (paper, interests true there, score) and shared by every profile that has it: at
    # 100,000 realistic readers most shown items are popular interests on the same
    # papers, so a tick makes a fraction of the Matches it shows.
    def build(self, i: int, row: int) -> Match:
        """The Match of profile ``i``'s table row ``row``: the interests whose query is
        true there (the table knows), each with the reference evaluator's hits (made once
        per interest and paper, however many profiles share them)."""
        return self.build_rows(i, [row])[0]

    def build_rows(self, i: int, rows: Sequence[int]) -> list[Match]:
        """The Matches of profile ``i``'s table rows ``rows``, in that order."""
        interests = self.index.profiles[i].interests
        query_of = self.index.query_of
        sets = [self.truth.papers_of(query_of[t]) for t in interests] if len(interests) > 1 else []
        out: list[Match] = []
        memo = self._matches
        names: tuple[str, ...]
        picked = np.asarray(rows, dtype=np.int64)
        for j, score in zip(self.paper[picked].tolist(), self.score[picked].tolist(), strict=True):
            if len(interests) == 1:
                names = interests  # a match holds at least one interest: this one
            else:
                names = tuple([t for t, found in zip(interests, sets, strict=True) if j in found])
            key = (j, names, score)
            match = memo.get(key)
            if match is None:
                hits: list[Hit] = []
                for text in names:
                    hits.extend(self._hits(text, j))
                match = memo[key] = Match(self.papers[j].id, score, names, tuple(hits))
            out.append(match)
        return out

    def _hits(self, text: str, j: int) -> list[Hit]:
        """``explain_occurrences``' hits for the interest on paper ``j``, without its score
        (the table has it); each atom's spans found once per paper, whatever shares it."""
        found = self._parts.get((text, j))
        if found is None:
            q = self.index.query_of[text]
            doc = self.docs[j]
            n = len(self.docs)
            found = []
            occurrences = self.index.occurrences[q]
            for occ, aid in zip(occurrences, self.index.occurrence_atoms[q], strict=True):
                if occ.gate is not None and not true_in(occ.gate, doc):
                    continue
                spans = self._spans.get(aid * n + j)
                if spans is None:
                    spans = self._spans[aid * n + j] = atom_spans(occ.atom, doc)
                term = occ.atom.display
                found += [Hit(text, field, term, where) for field, where in spans]
            self._parts[(text, j)] = found
        return found


class Truth:
    """Which (query, paper) pairs are true: per batch, a CSR of each query's papers."""

    def __init__(self) -> None:
        self._batches: list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]]] = []
        self._sets: dict[int, set[int]] = {}

    def add(self, offset: int, ptr: npt.NDArray[np.int64], papers: npt.NDArray[np.int64]) -> None:
        self._batches.append((offset, ptr, papers))

    def papers_of(self, query: int) -> set[int]:
        """The papers (indices into the table's papers) where ``query`` is true."""
        found = self._sets.get(query)
        if found is None:
            found = self._sets[query] = {
                offset + j
                for offset, ptr, papers in self._batches
                for j in papers[ptr[query] : ptr[query + 1]].tolist()
            }
        return found


class LazyMatches(Sequence[Match]):
    """One profile's ranked Matches; each is built when first taken."""

    def __init__(self, table: MatchTable[Any], i: int, rows: Sequence[int]) -> None:
        self.table, self.i, self.rows = table, i, rows
        self._built: dict[int, Match] = {}

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, at: int) -> Match: ...
    @overload
    def __getitem__(self, at: slice) -> list[Match]: ...
    def __getitem__(self, at: int | slice) -> Match | list[Match]:
        if isinstance(at, slice):
            picked = range(*at.indices(len(self)))
            missing = [self.rows[k] for k in picked if self.rows[k] not in self._built]
            if missing:  # in one go: the profile's interests are looked up once
                built = self.table.build_rows(self.i, missing)
                self._built.update(zip(missing, built, strict=True))
            return [self._built[self.rows[k]] for k in picked]
        row = self.rows[at]  # IndexError past the end, as a list would
        found = self._built.get(row)
        if found is None:
            found = self._built[row] = self.table.build(self.i, row)
        return found

    def __iter__(self) -> Iterator[Match]:
        return (self[k] for k in range(len(self)))

    def paper_ids(self) -> list[str]:
        """The ranked papers' ids, without building any Match."""
        papers, column = self.table.papers, self.table.paper
        return [papers[int(column[row])].id for row in self.rows]

    def among(self, paper_ids: set[str]) -> LazyMatches:
        """The same ranking kept to ``paper_ids`` (still nothing built)."""
        kept = [
            row for row, pid in zip(self.rows, self.paper_ids(), strict=True) if pid in paper_ids
        ]
        return LazyMatches(self.table, self.i, kept)

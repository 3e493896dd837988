"""Planning: the digests of a bucket's due readers, built from one matching pass.

All due profiles are matched in one indexed pass (:mod:`alertbot.deliver.indexed`), and
each digest is its subscriber's ranked matches kept to the endpoint's candidates; readers
in keyword order whose candidates are a plain suffix of the recent papers (nearly all)
are chosen together in one pass over the match table's columns. Readers with learning on
and enough feedback get their matches in their model's order before the cap, with the
reasons and the day's suggestions; ``like:`` interests are matched in a pass of their
own. A keyword digest's papers are kept bare (:mod:`alertbot.store.chosen`).
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from alertbot.config import Settings
from alertbot.deliver.indexed import IndexedMatches
from alertbot.match import CorpusStats, IndexCache, QueryError
from alertbot.match.evaluate import Doc, PaperKey
from alertbot.model import Endpoint, Match, OutboxState, Paper, Subscriber
from alertbot.readers import Learned, TickLearning
from alertbot.store.candidates import Candidates, gather
from alertbot.store.chosen import NO_MATCHES, Bare
from alertbot.store.learned import RowLearning


@dataclass
class QueueReport:
    """What one ``queue_due`` run did, and where its time went (seconds per phase)."""

    queued: int = 0
    planned: int = 0
    looked_at: int = 0
    buckets_taken: int = 0
    buckets_skipped: int = 0
    learned: int = 0  # readers whose digests their learned ranking ordered
    phases: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] += time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class Planned:
    """A digest due now: what ``queue_due`` would put in the outbox."""

    subscriber: Subscriber
    endpoint: Endpoint
    digest_date: date
    matches: tuple[Match, ...]  # explained: the learned ranking's or like: digests
    more: int
    state: OutboxState
    error: str | None = None
    top_paper: str | None = None
    learning: RowLearning | None = None  # None: in keyword order
    rest: Bare = NO_MATCHES  # the matches beyond the cap, bare (for the web page)
    bare: Bare = NO_MATCHES  # the shown ones, bare: a keyword-ranked digest's

    @property
    def paper_ids(self) -> tuple[str, ...]:
        if self.bare:
            return tuple(self.bare.paper_ids)
        return tuple(m.paper_id for m in self.matches)


@dataclass(frozen=True, slots=True)
class Due:
    """A digest due now: this endpoint of this subscriber, for this local date."""

    subscriber: Subscriber
    endpoint: Endpoint
    digest_date: date


def plan_digests(
    conn: Connection,
    settings: Settings,
    due: Sequence[Due],
    stats: CorpusStats,
    learning: TickLearning,
    report: QueueReport,
    *,
    now: datetime,
    window_days: int,
    index: IndexCache[int] | None = None,
    docs: dict[PaperKey, Doc] | None = None,
) -> list[Planned]:
    with report.phase("candidates"):
        candidates = gather(conn, [d.endpoint.id for d in due], now=now, window_days=window_days)
        papers = {p.id: p for p in candidates.union(d.endpoint.id for d in due)}
    with report.phase("match"):
        # One matching pass for the whole bucket rather than one per endpoint.
        profiles = {d.subscriber.id: d.subscriber.profile for d in due}
        matches = IndexedMatches(profiles, papers.values(), stats, index, docs)
    with report.phase("learn"):
        # One grouped query says who has enough feedback; only those are trained.
        learned = learning.for_readers(conn, (d.subscriber for d in due), papers)
        report.learned += len(learned)
        # like: interests, in a pass of their own (alertbot/likes.py): few readers have any.
        liked = learning.likes.for_profiles(conn, profiles, papers)
    with report.phase("build"):
        positions = np.array(
            candidates.positions(p.id for p in matches.table.papers), dtype=np.int64
        )
        # Readers in keyword order whose candidates are a plain suffix of the recent
        # papers (nearly everyone) are chosen in one pass over the table's columns.
        plain: dict[int, tuple[int, int]] = {}
        seen: set[int] = set()
        for d in due:
            sid = d.subscriber.id
            if sid in seen:  # a reader with two endpoints due: each is chosen on its own
                plain.pop(sid, None)
                continue
            seen.add(sid)
            start = candidates.plain_start(d.endpoint.id)
            if start is not None and sid not in learned and sid not in liked:
                plain[sid] = (start, d.subscriber.profile.max_papers)
        chosen = matches.chosen_since_many(plain, positions)
        return [
            _plan_one(
                settings, d, candidates, papers, matches, positions,
                learned.get(d.subscriber.id), liked.get(d.subscriber.id),
                chosen.get(d.subscriber.id),
            )
            for d in due
        ]  # fmt: skip


def _plan_one(
    settings: Settings,
    due: Due,
    candidates: Candidates,
    papers: dict[str, Paper],
    matches: IndexedMatches,
    positions: npt.NDArray[np.int64],
    learned: Learned | None = None,
    liked: Mapping[str, Match] | None = None,
    chosen: tuple[Bare, Bare, int] | None = None,
) -> Planned:
    subscriber, endpoint, day = due.subscriber, due.endpoint, due.digest_date
    cap = max(subscriber.profile.max_papers, 0)
    start = candidates.plain_start(endpoint.id)
    allows = functools.partial(candidates.allows, endpoint.id)
    learning: RowLearning | None = None
    shown: list[Match] = []
    bare = NO_MATCHES
    try:
        if learned is not None or liked:
            ranker = learned.ranker if learned is not None else None
            shown, rest, more, reasons = matches.ranked(
                subscriber.id, allows, cap, ranker=ranker, extra=liked
            )
            if learned is not None:
                learning = RowLearning(tuple(reasons), learned.suggestions)
        elif chosen is not None:
            bare, rest, more = chosen
        elif start is not None:
            bare, rest, more = matches.chosen_since(subscriber.id, positions, start, cap)
        else:
            bare, rest, more = matches.chosen(subscriber.id, allows, cap)
    except QueryError as exc:
        error = f"profile does not parse: {exc}"
        return Planned(subscriber, endpoint, day, (), 0, OutboxState.DEAD, error)
    first = shown[0].paper_id if shown else (bare.paper_ids[0] if bare else None)
    sends = first is not None or settings.delivery.send_empty
    state = OutboxState.PENDING if sends else OutboxState.EMPTY
    top = papers[first].title if first is not None else None
    return Planned(
        subscriber, endpoint, day, tuple(shown), more, state,
        top_paper=top, learning=learning, rest=rest, bare=bare,
    )  # fmt: skip

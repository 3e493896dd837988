"""Which papers a digest may hold: the candidates of each endpoint.

The rules, and why:

* A paper is a candidate for an endpoint when it was first stored after the last digest
  *sent* on that endpoint was built (the outbox row's ``created_at``, the moment it was
  queued and its papers chosen). ``sent_at`` would be wrong: a paper stored between
  queueing and sending was not in that digest and would be skipped forever. For an
  endpoint with no sent digest, the last ``window_days`` count.
* Papers already in ``delivered_papers`` for the endpoint are never candidates again
  (papers recur across dumps: their id is the version-less arXiv id or the title id).
* Papers listed in a digest still in flight on that endpoint (pending, sending, failed,
  unknown) are left out too, so a retried digest and the next day's one never carry the
  same paper twice. A digest that ends ``dead`` releases its papers into the next
  one. Usually they were stored after the last sent digest anyway; but a later digest
  may have been sent while the dead one was still being retried, moving the cut-off
  past them, so the papers of dead digests queued within ``window_days`` are added
  back explicitly. An ``unknown`` digest (SMTP timeout after DATA, maybe delivered)
  keeps its papers: we prefer missing a paper to sending it twice.
* Papers count as delivered only when their digest is sent (marked in the same write
  that marks the row sent: ``complete`` in ``attempts.py``, the marks' table in
  ``marks.py``).

How: a dispatcher tick plans up to hundreds of thousands of digests at once, so the
rules run as two statements per 2,000 endpoints, each an index probe per endpoint
whatever its history: one for the last sent digest and whether digests are in flight
or recently dead (``ix_outbox_endpoint_state``), one for the delivered papers first
stored since it (``ix_delivered_papers_since``: the mark keeps the paper's
``first_seen``); the papers of the digests in flight or dead are then read for the few
endpoints that have any. The recent
papers are loaded once, ordered by first_seen then id, and each endpoint's candidates
are a suffix of that list less a (nearly always empty) held-back set, plus any rescued
papers: :class:`Candidates` keeps them in that form, so nothing per endpoint is copied
unless asked for. ``candidate_papers`` (one endpoint) is this with a list of one, so the
rules live in one place.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    DateTime,
    Integer,
    ScalarSelect,
    bindparam,
    func,
    select,
)

from alertbot.model import IN_FLIGHT, Endpoint, OutboxState, Paper, StoredPaper
from alertbot.store.db import Db, among, transaction
from alertbot.store.papers import chunks, get_papers, papers_first_seen_between
from alertbot.store.schema import delivered_papers, endpoints, outbox
from alertbot.store.types import UTCDateTime

CHUNK = 2000  # endpoint ids per IN (...) list: far below every backend's parameter limit


@dataclass
class Candidates:
    """Each endpoint's candidates, as a suffix of one shared list of recent papers.

    ``recent`` is ordered by first_seen then id; endpoint ``e`` may hold
    ``recent[start[e]:]`` less ``held[e]``, plus ``rescued[e]`` (dead digests' papers
    from before its cut-off).
    """

    recent: list[StoredPaper]
    start: dict[int, int]
    held: dict[int, set[str]] = field(default_factory=dict)
    rescued: dict[int, list[StoredPaper]] = field(default_factory=dict)
    _position: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._position = {sp.paper.id: i for i, sp in enumerate(self.recent)}

    def allows(self, endpoint_id: int, paper_id: str) -> bool:
        """Whether ``paper_id`` is a candidate for the endpoint."""
        held = self.held.get(endpoint_id)
        if held and paper_id in held:
            return False
        at = self._position.get(paper_id)
        if at is not None and at >= self.start[endpoint_id]:
            return True
        rescued = self.rescued.get(endpoint_id)
        return bool(rescued) and any(sp.paper.id == paper_id for sp in rescued or ())

    def positions(self, paper_ids: Iterable[str]) -> list[int]:
        """Each paper's place in ``recent`` (-1 if not there), for :meth:`plain_start`."""
        at = self._position.get
        return [at(pid, -1) for pid in paper_ids]

    def plain_start(self, endpoint_id: int) -> int | None:
        """When the endpoint's candidates are exactly ``recent[start:]`` (nothing held back,
        nothing rescued: nearly always), that ``start``; else None (ask :meth:`allows`)."""
        if self.held.get(endpoint_id) or self.rescued.get(endpoint_id):
            return None
        return self.start[endpoint_id]

    def first_seen(self, paper_id: str) -> datetime | None:
        at = self._position.get(paper_id)
        return self.recent[at].first_seen if at is not None else None

    def papers(self, endpoint_id: int) -> list[Paper]:
        """The endpoint's candidates, by first_seen then id (Paper objects are shared)."""
        mine = self.recent[self.start[endpoint_id] :]
        if endpoint_id in self.rescued:
            mine = sorted(
                [*mine, *self.rescued[endpoint_id]], key=lambda sp: (sp.first_seen, sp.paper.id)
            )
        hold = self.held.get(endpoint_id, set())
        return [sp.paper for sp in mine if sp.paper.id not in hold]

    def union(self, endpoint_ids: Iterable[int]) -> list[Paper]:
        """Every paper some of these endpoints may hold, each once, recent ones first."""
        ids = list(endpoint_ids)
        if not ids:
            return []
        start = min(self.start[e] for e in ids)
        found = {sp.paper.id: sp.paper for sp in self.recent[start:]}
        for e in ids:
            for sp in self.rescued.get(e, ()):
                found.setdefault(sp.paper.id, sp.paper)
        return list(found.values())


def gather(
    db: Db,
    endpoint_ids: Sequence[int],
    *,
    now: datetime,
    window_days: int = 7,
    exclude_outbox_id: int | None = None,
) -> Candidates:
    """The candidates of these endpoints by the rules above.

    ``exclude_outbox_id`` names an outbox row whose own papers must not be held back as
    "in flight" (when rebuilding that row's digest).
    """
    ids = list(dict.fromkeys(endpoint_ids))
    window_start = now - timedelta(days=window_days)
    since: dict[int, datetime] = {}
    held: dict[int, set[str]] = {}
    dead: dict[int, set[str]] = {}
    with transaction(db) as conn:
        for part in chunks(ids, CHUNK):
            probes = _probe(conn, part, window_start)
            cutoffs = {p.id: p.cutoff or window_start for p in probes}
            since.update(cutoffs)
            for endpoint_id, paper_id in _delivered_since(conn, cutoffs, window_start):
                held.setdefault(endpoint_id, set()).add(paper_id)
            busy = [i for p in probes for i in p.in_flight if i != exclude_outbox_id]
            for endpoint_id, paper_ids in _papers_of(conn, busy):
                held.setdefault(endpoint_id, set()).update(str(p) for p in paper_ids or ())
            for endpoint_id, paper_ids in _papers_of(conn, [i for p in probes for i in p.dead]):
                dead.setdefault(endpoint_id, set()).update(str(p) for p in paper_ids or ())
        earliest = min(since.values(), default=now)
        # Ordered by first_seen, id: each endpoint's candidates are a suffix of this list.
        recent = papers_first_seen_between(conn, earliest, None) if ids else []
        rescued = _rescued(conn, dead, since, {sp.paper.id: sp for sp in recent})
    first_seen = [sp.first_seen for sp in recent]
    start = {e: bisect.bisect_left(first_seen, since[e]) for e in ids}
    return Candidates(recent, start, held, rescued)


def candidates_by_endpoint(
    db: Db,
    endpoint_ids: Sequence[int],
    *,
    now: datetime,
    window_days: int = 7,
    exclude_outbox_id: int | None = None,
) -> dict[int, list[Paper]]:
    """Each endpoint's candidates, by first_seen then id; Paper objects are shared."""
    found = gather(
        db, endpoint_ids, now=now, window_days=window_days, exclude_outbox_id=exclude_outbox_id
    )
    return {e: found.papers(e) for e in found.start}


def _rescued(
    conn: Connection,
    dead: dict[int, set[str]],
    since: dict[int, datetime],
    stored: dict[str, StoredPaper],
) -> dict[int, list[StoredPaper]]:
    """Papers of recent dead digests first stored before the endpoint's cut-off and never
    delivered to it: these are added back (see the rules above)."""
    wanted: dict[int, set[str]] = {}
    for endpoint_id, paper_ids in dead.items():
        cutoff = since[endpoint_id]
        older = {p for p in paper_ids if p not in stored or stored[p].first_seen < cutoff}
        if older:
            wanted[endpoint_id] = older
    if not wanted:
        return {}
    for endpoint_id, paper_id in _delivered_among(conn, wanted):
        wanted[endpoint_id].discard(paper_id)
    known = dict(stored)
    known.update(get_papers(conn, {p for ps in wanted.values() for p in ps} - set(stored)))
    return {
        endpoint_id: [known[p] for p in paper_ids if p in known]
        for endpoint_id, paper_ids in wanted.items()
        if paper_ids
    }


def _last_sent(endpoint_id: ColumnElement[int]) -> ScalarSelect[datetime]:
    """When the endpoint's last sent digest was queued, as a correlated subquery: one
    probe of ``ix_outbox_endpoint_state``, where a GROUP BY would read every sent row."""
    return (
        select(func.max(outbox.c.created_at))
        .where(outbox.c.endpoint_id == endpoint_id, outbox.c.state == OutboxState.SENT)
        .scalar_subquery()
    )


def _ids_in(
    dialect: str, endpoint_id: ColumnElement[int], states: Iterable[OutboxState], since: Any
) -> ScalarSelect[Any]:
    """The ids of the endpoint's digests in ``states`` (created since ``since``, if
    given), or NULL, as a scalar subquery: run once per endpoint, where an EXISTS or a
    filter of the outbox by state may be planned as one pass over every row in those
    states. An array on PostgreSQL, comma-separated text on SQLite."""
    agg = func.array_agg if dialect == "postgresql" else func.group_concat
    query = select(agg(outbox.c.id)).where(
        outbox.c.endpoint_id == endpoint_id, outbox.c.state.in_(sorted(states))
    )
    if since is not None:
        query = query.where(outbox.c.created_at >= since)
    return query.scalar_subquery()


def _id_list(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str):
        return [int(v) for v in value.split(",")]
    return [int(v) for v in value]


@dataclass(frozen=True, slots=True)
class Probe:
    """What the outbox says of one endpoint: when its last sent digest was queued (or
    None), and the ids of its digests in flight and of those dead since the window."""

    id: int
    cutoff: datetime | None
    in_flight: list[int]
    dead: list[int]


def _probe(conn: Connection, endpoint_ids: list[int], window_start: datetime) -> list[Probe]:
    """Each endpoint's :class:`Probe`: one statement, index probes per endpoint.

    As correlated subqueries, not a filter of the outbox by state: PostgreSQL then
    cannot choose to read every in-flight row through ``ix_outbox_state_next`` (which
    it did when its statistics, taken before the morning's rows were queued, promised
    none: 48 ms per 2,000 endpoints with 100,000 rows pending, 1.5-1.7 s of a
    100,000-reader tick, where a probe of ``ix_outbox_endpoint_state`` each costs 8 ms).
    The papers of the (few) digests found are then read by id."""
    start = bindparam("window_start", window_start, type_=UTCDateTime())
    dialect = conn.dialect.name
    rows = conn.execute(
        select(
            endpoints.c.id,
            _last_sent(endpoints.c.id).label("cutoff"),
            _ids_in(dialect, endpoints.c.id, IN_FLIGHT, None).label("in_flight"),
            _ids_in(dialect, endpoints.c.id, {OutboxState.DEAD}, start).label("dead"),
        ).where(among(conn, endpoints.c.id, endpoint_ids))
    )
    return [Probe(r.id, r.cutoff, _id_list(r.in_flight), _id_list(r.dead)) for r in rows]


def _last_sent_cutoffs(conn: Connection, endpoint_ids: list[int]) -> dict[int, datetime]:
    rows = conn.execute(
        select(endpoints.c.id, _last_sent(endpoints.c.id).label("cutoff")).where(
            among(conn, endpoints.c.id, endpoint_ids)
        )
    )
    return {r.id: r.cutoff for r in rows if r.cutoff is not None}


def last_sent_cutoffs(db: Db, endpoint_ids: list[int]) -> dict[int, datetime]:
    """When each endpoint's last sent digest was queued (its papers chosen); endpoints
    with none are absent."""
    with transaction(db) as conn:
        found: dict[int, datetime] = {}
        for part in chunks(list(endpoint_ids), CHUNK):
            found.update(_last_sent_cutoffs(conn, part))
        return found


def _delivered_since(
    conn: Connection, since: dict[int, datetime], window_start: datetime
) -> list[tuple[int, str]]:
    """Delivered papers first stored since each endpoint's own cut-off (``since``, read
    by :func:`_probe`; one read in this statement's snapshot could only be later, which
    holds back no fewer of the papers that must be held back).

    For each endpoint, one range of ``ix_delivered_papers_since`` (the mark keeps the
    paper's ``first_seen``): usually empty, since the papers of a sent digest were
    stored before it was queued. On PostgreSQL the (endpoint, cut-off) pairs arrive as
    two arrays read by ``unnest``: with the cut-off as a correlated subquery in the join
    condition, its planner joined every delivered paper by hash, one pass over the table
    per 2,000 endpoints (250 ms a pass at 2,000,000 marks, growing with history; 1.7 ms
    by the pairs). SQLite probes the index per endpoint either way, so it keeps the one
    statement.
    """
    if not since:
        return []
    if conn.dialect.name == "postgresql":
        pairs = (
            func.unnest(
                bindparam("endpoint_ids", list(since), type_=ARRAY(Integer)),
                bindparam("cutoffs", list(since.values()), type_=ARRAY(DateTime(timezone=True))),
            )
            .table_valued("id", "cutoff")
            .render_derived(name="pairs")
        )
        query = select(delivered_papers.c.endpoint_id, delivered_papers.c.paper_id).join_from(
            pairs,
            delivered_papers,
            (delivered_papers.c.endpoint_id == pairs.c.id)
            & (delivered_papers.c.first_seen >= pairs.c.cutoff),
        )
    else:
        start = bindparam("window_start", window_start, type_=UTCDateTime())
        cutoff = func.coalesce(_last_sent(endpoints.c.id), start)
        query = (
            select(delivered_papers.c.endpoint_id, delivered_papers.c.paper_id)
            .select_from(endpoints)
            .join(
                delivered_papers,
                (delivered_papers.c.endpoint_id == endpoints.c.id)
                & (delivered_papers.c.first_seen >= cutoff),
            )
            .where(among(conn, endpoints.c.id, list(since)))
        )
    return [(r.endpoint_id, r.paper_id) for r in conn.execute(query)]


def _papers_of(conn: Connection, outbox_ids: list[int]) -> list[tuple[int, list[str] | None]]:
    """The endpoint and paper ids of these outbox rows."""
    if not outbox_ids:
        return []
    query = select(outbox.c.endpoint_id, outbox.c.paper_ids).where(
        among(conn, outbox.c.id, outbox_ids)
    )
    return [(r.endpoint_id, r.paper_ids) for r in conn.execute(query)]


def _delivered_among(conn: Connection, wanted: dict[int, set[str]]) -> list[tuple[int, str]]:
    """Which of these (endpoint, paper) pairs were delivered, at any time."""
    pairs = [(e, p) for e, ps in wanted.items() for p in ps]
    found: list[tuple[int, str]] = []
    for start in range(0, len(pairs), CHUNK):
        part = pairs[start : start + CHUNK]
        rows = conn.execute(
            select(delivered_papers.c.endpoint_id, delivered_papers.c.paper_id).where(
                delivered_papers.c.endpoint_id.in_({e for e, _ in part}),
                delivered_papers.c.paper_id.in_({p for _, p in part}),
            )
        )
        found.extend((r.endpoint_id, r.paper_id) for r in rows)
    return found


def candidate_papers(
    db: Db,
    endpoint: Endpoint,
    *,
    now: datetime,
    window_days: int = 7,
    exclude_outbox_id: int | None = None,
) -> list[Paper]:
    """Papers new to ``endpoint`` by the rules above, ordered by first_seen, id.

    ``exclude_outbox_id`` names an outbox row whose own papers must not be held back as
    "in flight" (when rebuilding that row's digest). The work is done by
    :func:`gather`, which plans many at once.
    """
    found = gather(
        db, [endpoint.id], now=now, window_days=window_days, exclude_outbox_id=exclude_outbox_id
    )
    return found.papers(endpoint.id)


def last_sent_cutoff(db: Db, endpoint_id: int) -> datetime | None:
    """When the last digest sent on the endpoint was queued (its papers chosen), or None."""
    return last_sent_cutoffs(db, [endpoint_id]).get(endpoint_id)


def last_sent_digest_date(db: Db, endpoint_id: int) -> date | None:
    """The latest local date whose digest was sent on the endpoint, or None."""
    with transaction(db) as conn:
        value: date | None = conn.execute(
            select(func.max(outbox.c.digest_date)).where(
                outbox.c.endpoint_id == endpoint_id, outbox.c.state == OutboxState.SENT
            )
        ).scalar_one()
    return value

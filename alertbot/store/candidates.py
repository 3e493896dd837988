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
* Papers count as delivered only when their digest is sent (``outbox.mark_delivered``,
  in the same transaction that marks the row sent).

How: the dispatcher tick plans thousands of digests at once. Asking for each endpoint's
candidates one by one loads the recent papers (and their sources) once per endpoint,
which dominated the tick once matching was batched. Here the rules run as a handful of
statements per 500 endpoints, and the recent papers are loaded once and shared.
``candidate_papers`` (one endpoint) is this with a list of one, so the rules
live in one place.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Select, bindparam, func, select

from alertbot.model import IN_FLIGHT, Endpoint, OutboxState, Paper, StoredPaper
from alertbot.store.db import Db, transaction
from alertbot.store.papers import chunks, get_papers, papers_first_seen_between
from alertbot.store.schema import delivered_papers, outbox
from alertbot.store.schema import papers as papers_table
from alertbot.store.types import UTCDateTime

CHUNK = 500  # endpoint ids per IN (...) list: far below every backend's parameter limit


def candidates_by_endpoint(
    db: Db,
    endpoint_ids: Sequence[int],
    *,
    now: datetime,
    window_days: int = 7,
    exclude_outbox_id: int | None = None,
) -> dict[int, list[Paper]]:
    """Each endpoint's candidates, by first_seen then id; Paper objects are shared.

    ``exclude_outbox_id`` names an outbox row whose own papers must not be held back as
    "in flight" (when rebuilding that row's digest).
    """
    ids = list(dict.fromkeys(endpoint_ids))
    if not ids:
        return {}
    window_start = now - timedelta(days=window_days)
    since: dict[int, datetime] = {}
    held: dict[int, set[str]] = {i: set() for i in ids}
    dead: dict[int, set[str]] = {}
    with transaction(db) as conn:
        for part in chunks(ids, CHUNK):
            cutoffs = last_sent_cutoffs(conn, part)
            since.update({i: cutoffs.get(i) or window_start for i in part})
            for endpoint_id, paper_id in _delivered_since_cutoff(conn, part, window_start):
                held[endpoint_id].add(paper_id)
            in_flight = _outbox_papers(conn, part, IN_FLIGHT, exclude=exclude_outbox_id)
            for endpoint_id, paper_ids in in_flight:
                held[endpoint_id].update(str(p) for p in paper_ids or ())
            for endpoint_id, paper_ids in _outbox_papers(
                conn, part, {OutboxState.DEAD}, window_start
            ):
                dead.setdefault(endpoint_id, set()).update(str(p) for p in paper_ids or ())
        # Ordered by first_seen, id: each endpoint's candidates are a suffix of this list.
        stored = papers_first_seen_between(conn, min(since.values()), None)
        rescued = _rescued(conn, dead, since, {sp.paper.id: sp for sp in stored})
    first_seen = [sp.first_seen for sp in stored]
    result: dict[int, list[Paper]] = {}
    for endpoint_id in ids:
        mine = stored[bisect.bisect_left(first_seen, since[endpoint_id]) :]
        if endpoint_id in rescued:
            mine = sorted(
                [*mine, *rescued[endpoint_id]], key=lambda sp: (sp.first_seen, sp.paper.id)
            )
        hold = held[endpoint_id]
        result[endpoint_id] = [sp.paper for sp in mine if sp.paper.id not in hold]
    return result


def _rescued(
    conn: Connection,
    dead: dict[int, set[str]],
    since: dict[int, datetime],
    stored: dict[str, StoredPaper],
) -> dict[int, list[StoredPaper]]:
    """Papers of recent dead digests first stored before the endpoint's cut-off and never
    delivered to it: ``candidate_papers`` adds these back (see store.digests)."""
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


def _cutoffs(endpoint_ids: list[int]) -> Select[tuple[int, datetime]]:
    """The last sent digest's ``created_at`` of each endpoint that has one."""
    return (
        select(outbox.c.endpoint_id, func.max(outbox.c.created_at).label("cutoff"))
        .where(outbox.c.endpoint_id.in_(endpoint_ids), outbox.c.state == OutboxState.SENT)
        .group_by(outbox.c.endpoint_id)
    )


def last_sent_cutoffs(db: Db, endpoint_ids: list[int]) -> dict[int, datetime]:
    """When each endpoint's last sent digest was queued (its papers chosen); endpoints
    with none are absent."""
    with transaction(db) as conn:
        return {r.endpoint_id: r.cutoff for r in conn.execute(_cutoffs(endpoint_ids))}


def _delivered_since_cutoff(
    conn: Connection, endpoint_ids: list[int], window_start: datetime
) -> list[tuple[int, str]]:
    """Delivered papers first stored since each endpoint's own cutoff.

    The cutoff is applied per endpoint in SQL (not as one earliest cutoff for all) so
    one endpoint with a long-ago digest does not pull in everyone's delivery history.
    """
    cutoffs = _cutoffs(endpoint_ids).subquery()
    start = bindparam("window_start", window_start, type_=UTCDateTime())
    rows = conn.execute(
        select(delivered_papers.c.endpoint_id, delivered_papers.c.paper_id)
        .join(papers_table, papers_table.c.id == delivered_papers.c.paper_id)
        .outerjoin(cutoffs, cutoffs.c.endpoint_id == delivered_papers.c.endpoint_id)
        .where(
            delivered_papers.c.endpoint_id.in_(endpoint_ids),
            papers_table.c.first_seen >= func.coalesce(cutoffs.c.cutoff, start),
        )
    )
    return [(r.endpoint_id, r.paper_id) for r in rows]


def _outbox_papers(
    conn: Connection,
    endpoint_ids: list[int],
    states: Iterable[OutboxState],
    created_since: datetime | None = None,
    *,
    exclude: int | None = None,
) -> list[tuple[int, list[str] | None]]:
    """The paper ids of the endpoints' outbox rows in ``states`` (but row ``exclude``)."""
    query = select(outbox.c.endpoint_id, outbox.c.paper_ids).where(
        outbox.c.endpoint_id.in_(endpoint_ids), outbox.c.state.in_(sorted(states))
    )
    if created_since is not None:
        query = query.where(outbox.c.created_at >= created_since)
    if exclude is not None:
        query = query.where(outbox.c.id != exclude)
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
    :func:`candidates_by_endpoint`, which plans many at once.
    """
    found = candidates_by_endpoint(
        db, [endpoint.id], now=now, window_days=window_days, exclude_outbox_id=exclude_outbox_id
    )
    return found[endpoint.id]


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

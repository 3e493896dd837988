"""What goes into a digest: candidate papers per endpoint, corpus statistics, delivery marks.

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
* Papers count as delivered only when their digest is sent (``mark_delivered``, called
  by the outbox in the same transaction that marks the row sent).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from alertbot.match import CorpusStats
from alertbot.model import Endpoint, Paper
from alertbot.store.candidates import SENT, candidates_by_endpoint, last_sent_cutoffs
from alertbot.store.db import Db, transaction
from alertbot.store.papers import papers_first_seen_between
from alertbot.store.schema import delivered_papers, outbox


def last_sent_cutoff(db: Db, endpoint_id: int) -> datetime | None:
    """When the last digest sent on the endpoint was queued (its papers chosen), or None."""
    return last_sent_cutoffs(db, [endpoint_id]).get(endpoint_id)


def last_sent_digest_date(db: Db, endpoint_id: int) -> date | None:
    """The latest local date whose digest was sent on the endpoint, or None."""
    with transaction(db) as conn:
        value: date | None = conn.execute(
            select(func.max(outbox.c.digest_date)).where(
                outbox.c.endpoint_id == endpoint_id, outbox.c.state == SENT
            )
        ).scalar_one()
    return value


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
    :func:`alertbot.store.candidates.candidates_by_endpoint`, which plans many at once.
    """
    found = candidates_by_endpoint(
        db, [endpoint.id], now=now, window_days=window_days, exclude_outbox_id=exclude_outbox_id
    )
    return found[endpoint.id]


def corpus_stats(db: Db, *, now: datetime, days: int) -> CorpusStats:
    """Term statistics over the papers first stored in the last ``days`` days."""
    stored = papers_first_seen_between(db, now - timedelta(days=days), None)
    return CorpusStats.from_papers(sp.paper for sp in stored)


def mark_delivered(
    db: Db, endpoint_id: int, paper_ids: Iterable[str], outbox_id: int, *, now: datetime
) -> int:
    """Record papers as delivered on the endpoint; duplicates are ignored. Returns rows added."""
    rows = [
        {"endpoint_id": endpoint_id, "paper_id": pid, "outbox_id": outbox_id, "delivered_at": now}
        for pid in dict.fromkeys(paper_ids)
    ]
    if not rows:
        return 0
    with transaction(db) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        # One statement run with many parameter sets: SQLAlchemy batches it into
        # multi-row INSERTs ("insertmanyvalues") and caches its compiled form, which a
        # .values(rows) statement of varying length never hits. RETURNING counts the
        # rows really added (an executemany rowcount is not reliable across drivers).
        stmt = (
            dialect.insert(delivered_papers)
            .on_conflict_do_nothing()
            .returning(delivered_papers.c.paper_id)
        )
        return len(conn.execute(stmt, rows).all())


def delivered_paper_ids(db: Db, endpoint_id: int) -> set[str]:
    """Every paper id delivered on the endpoint."""
    with transaction(db) as conn:
        rows = conn.execute(
            select(delivered_papers.c.paper_id).where(delivered_papers.c.endpoint_id == endpoint_id)
        )
        return {r.paper_id for r in rows}


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    """One outbox row as ``subscribers show`` lists it."""

    id: int
    endpoint_id: int
    digest_date: date
    state: str
    attempts: int
    n_papers: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def recent_outbox(db: Db, endpoint_ids: Sequence[int], *, limit: int = 10) -> list[OutboxSummary]:
    """The latest outbox rows of these endpoints, newest digest date first."""
    if not endpoint_ids:
        return []
    query = (
        select(
            outbox.c.id,
            outbox.c.endpoint_id,
            outbox.c.digest_date,
            outbox.c.state,
            outbox.c.attempts,
            outbox.c.paper_ids,
            outbox.c.last_error,
            outbox.c.created_at,
            outbox.c.sent_at,
        )
        .where(outbox.c.endpoint_id.in_(list(endpoint_ids)))
        .order_by(outbox.c.digest_date.desc(), outbox.c.id.desc())
        .limit(limit)
    )
    with transaction(db) as conn:
        return [
            OutboxSummary(
                id=r.id,
                endpoint_id=r.endpoint_id,
                digest_date=r.digest_date,
                state=r.state,
                attempts=r.attempts or 0,
                n_papers=len(r.paper_ids or ()),
                last_error=r.last_error,
                created_at=r.created_at,
                sent_at=r.sent_at,
            )
            for r in conn.execute(query)
        ]

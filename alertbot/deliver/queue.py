"""Queueing: which digests are due now, built and stored in the outbox.

A row stores what was chosen at queue time (the papers, their scores, the interests
and the spans to highlight: :mod:`alertbot.store.chosen`) and how many more matched
beyond the cap, so sending is load and render and a retry sends the same digest.

A tick's cost follows the digests that are due, not the subscribers:

* the due (endpoint, date) pairs are selected in SQL by send time
  (:mod:`alertbot.store.due`), so an idle tick reads nothing else;
* the candidates of all due endpoints are read in a few statements per 2,000 endpoints
  (:mod:`alertbot.store.candidates`), kept as suffixes of one list of recent papers;
* all due profiles are matched in one indexed pass (:mod:`alertbot.deliver.indexed`),
  and each digest is its subscriber's ranked matches kept to the endpoint's candidates;
* the rows go in with multi-row INSERTs, a few thousand per statement.

**Several planners on one PostgreSQL.** Subscribers are split into buckets (subscriber
id modulo a power of two, about ``PLAN_CHUNK`` due subscribers each); a planner takes a
bucket with ``pg_try_advisory_xact_lock`` (skip it if another planner holds it, like
``SKIP LOCKED``), re-reads which of that bucket's digests are still due, plans and
inserts them and commits, which releases the bucket. So two planners share the work and
never plan the same digest twice; the unique (endpoint, date) key makes a duplicate row
impossible even if they did. An advisory lock rather than ``FOR UPDATE SKIP LOCKED`` on
the subscribers: row locks would hold up every profile edit (a ``/subscribe`` command
must answer within 3 seconds) for as long as a bucket takes to plan.

**A profile edited between queueing and sending**: the digest goes out as it was
queued (usually seconds earlier; hours only for a row being retried). What was decided
is what is sent, so a retry cannot differ from the first attempt and nothing is matched
twice. The edit applies from the next digest. Pausing, unsubscribing or disabling the
endpoint does stop a queued digest (the worker drops it as ``dead``); an operator who
wants a queued digest rebuilt after an edit can leave it to the next one, since papers
of a ``dead`` digest roll into the next digest.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, text

from alertbot import metrics
from alertbot.config import Settings
from alertbot.corpus import load_corpus
from alertbot.deliver.indexed import IndexedMatches
from alertbot.logs import get_logger
from alertbot.match import CorpusStats, QueryError
from alertbot.model import Endpoint, Match, OutboxState, Paper, Subscriber
from alertbot.store import outbox
from alertbot.store import subscribers as subscriber_store
from alertbot.store.candidates import Candidates, gather
from alertbot.store.due import Due, due_now

log = get_logger(__name__)

NEW_ENDPOINT_WINDOW_DAYS = 7
PLAN_CHUNK = 20_000  # due subscribers per planning bucket (one matching pass, one commit)
_PLAN_LOCK = 7236002  # pg_try_advisory_xact_lock class for planning buckets


@dataclass(frozen=True, slots=True)
class Planned:
    """A digest due now: what ``queue_due`` would put in the outbox."""

    subscriber: Subscriber
    endpoint: Endpoint
    digest_date: date
    matches: tuple[Match, ...]
    more: int
    state: OutboxState
    error: str | None = None
    top_paper: str | None = None

    @property
    def paper_ids(self) -> tuple[str, ...]:
        return tuple(m.paper_id for m in self.matches)


def plan_due(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    window_days: int = NEW_ENDPOINT_WINDOW_DAYS,
) -> list[Planned]:
    """The digests due at ``now`` and not queued yet, built but not stored.

    A day with no match is planned as ``empty`` (stored so the next tick does not build
    it again) unless ``delivery.send_empty``; a profile that no longer parses as
    ``dead``, saying why.
    """
    due = due_now(engine, now=now)
    if not due:
        return []
    stats = load_corpus(engine, now=now, days=settings.match.corpus_days).stats
    with engine.connect() as conn:
        return _plan(conn, settings, due, stats, now=now, window_days=window_days)


def queue_due(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    window_days: int = NEW_ENDPOINT_WINDOW_DAYS,
    chunk: int = PLAN_CHUNK,
) -> int:
    """Queue every digest due at ``now`` (see :func:`plan_due`); returns rows to send.

    Safe to run in several processes at once on PostgreSQL: they split the work by
    bucket (see the module docstring). ``chunk`` is the bucket size in due subscribers.
    """
    due = due_now(engine, now=now)
    if not due:
        return 0
    stats = load_corpus(engine, now=now, days=settings.match.corpus_days).stats
    n_buckets = _buckets(len({d.subscriber_id for d in due}), chunk)
    queued = 0
    for bucket in _nonempty_buckets(due, n_buckets):
        with engine.begin() as conn:
            if not _take(conn, n_buckets, bucket):
                log.debug("bucket taken by another planner", bucket=bucket, buckets=n_buckets)
                continue
            # Re-read under the lock: another planner may have queued some since.
            mine = due_now(conn, now=now, bucket=(bucket, n_buckets))
            plans = _plan(conn, settings, mine, stats, now=now, window_days=window_days)
            rows = [
                outbox.NewRow(
                    subscriber_id=p.subscriber.id,
                    endpoint_id=p.endpoint.id,
                    digest_date=p.digest_date,
                    state=p.state,
                    matches=p.matches,
                    more=p.more,
                    last_error=p.error,
                )
                for p in plans
            ]
            added = outbox.insert_many(conn, rows, now=now)
        queued += _report(plans, added)
    return queued


def _report(plans: Sequence[Planned], added: set[tuple[int, date]]) -> int:
    counts: dict[str, int] = defaultdict(int)
    papers = 0
    # One line per digest only when asked: at 100,000 digests a tick, formatting them
    # costs more than queueing them.
    each = log.isEnabledFor(logging.DEBUG)
    for plan in plans:
        if (plan.endpoint.id, plan.digest_date) not in added:
            continue
        counts[plan.state] += 1
        papers += len(plan.matches)
        if each:
            log.debug(
                "digest queued",
                subscriber_id=plan.subscriber.id,
                endpoint_id=plan.endpoint.id,
                digest_date=plan.digest_date,
                state=plan.state,
                papers=len(plan.matches),
            )
    if counts:
        log.info("digests planned", papers=papers, **counts)
    metrics.matches.inc(papers)
    return counts.get(OutboxState.PENDING, 0)


def _buckets(n_due: int, chunk: int) -> int:
    """A power of two, so planners that counted slightly different due sets mostly agree."""
    n = 1
    while n * max(chunk, 1) < n_due:
        n *= 2
    return n


def _nonempty_buckets(due: Sequence[Due], n_buckets: int) -> Iterator[int]:
    return iter(sorted({d.subscriber_id % n_buckets for d in due}))


def _take(conn: Connection, n_buckets: int, bucket: int) -> bool:
    """Take a planning bucket for this transaction; False if another planner has it."""
    if conn.dialect.name != "postgresql":
        return True  # SQLite has one writer: planners take turns, the unique key does the rest
    key = n_buckets * 100_000 + bucket
    return bool(
        conn.execute(
            text("SELECT pg_try_advisory_xact_lock(:cls, :key)"), {"cls": _PLAN_LOCK, "key": key}
        ).scalar_one()
    )


def _plan(
    conn: Connection,
    settings: Settings,
    due: Sequence[Due],
    stats: CorpusStats,
    *,
    now: datetime,
    window_days: int,
) -> list[Planned]:
    if not due:
        return []
    subscribers = {
        s.id: s for s in subscriber_store.list_subscribers(conn, ids={d.subscriber_id for d in due})
    }
    due = [d for d in due if d.subscriber_id in subscribers]
    candidates = gather(conn, [d.endpoint_id for d in due], now=now, window_days=window_days)
    papers = {p.id: p for p in candidates.union(d.endpoint_id for d in due)}
    # One matching pass for the whole bucket rather than one per endpoint.
    matches = IndexedMatches(
        {d.subscriber_id: subscribers[d.subscriber_id].profile for d in due},
        papers.values(),
        stats,
    )
    plans: list[Planned] = []
    for d in due:
        subscriber = subscribers[d.subscriber_id]
        endpoint = next(e for e in subscriber.endpoints if e.id == d.endpoint_id)
        plans.append(
            _plan_one(settings, subscriber, endpoint, d.digest_date, candidates, papers, matches)
        )
    return plans


def _plan_one(
    settings: Settings,
    subscriber: Subscriber,
    endpoint: Endpoint,
    day: date,
    candidates: Candidates,
    papers: dict[str, Paper],
    matches: IndexedMatches,
) -> Planned:
    cap = max(subscriber.profile.max_papers, 0)
    try:
        shown, more = matches.chosen(
            subscriber.id, lambda pid: candidates.allows(endpoint.id, pid), cap
        )
    except QueryError as exc:
        error = f"profile does not parse: {exc}"
        return Planned(subscriber, endpoint, day, (), 0, OutboxState.DEAD, error)
    state = OutboxState.PENDING if shown or settings.delivery.send_empty else OutboxState.EMPTY
    top = papers[shown[0].paper_id].title if shown else None
    return Planned(subscriber, endpoint, day, tuple(shown), more, state, top_paper=top)

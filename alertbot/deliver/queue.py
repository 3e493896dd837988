"""Queueing: which digests are due now, built and stored in the outbox.

A row stores the papers chosen at queue time (and how many more matched beyond the
cap), so a retry sends the same papers; ``send_due`` re-renders from them.

A tick plans every due digest together: candidates are read in a few batched queries
(``store.candidates``) and all due profiles are matched in one indexed pass
(``deliver.indexed``), so its cost grows with the papers and the distinct profiles
rather than with one full match per subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine

from alertbot import metrics
from alertbot.config import Settings
from alertbot.corpus import load_corpus
from alertbot.deliver.indexed import IndexedMatches
from alertbot.digest import Matcher, build_digest
from alertbot.logs import get_logger
from alertbot.match import CorpusStats, QueryError
from alertbot.model import Endpoint, OutboxState, Paper, Subscriber
from alertbot.schedule.due import due_digest_date
from alertbot.store import outbox
from alertbot.store import subscribers as subscriber_store
from alertbot.store.candidates import candidates_by_endpoint
from alertbot.store.deliveries import last_queued_dates

log = get_logger(__name__)

NEW_ENDPOINT_WINDOW_DAYS = 7


@dataclass(frozen=True, slots=True)
class Planned:
    """A digest due now: what ``queue_due`` would put in the outbox."""

    subscriber: Subscriber
    endpoint: Endpoint
    digest_date: date
    paper_ids: tuple[str, ...]
    more: int
    state: OutboxState
    error: str | None = None
    top_paper: str | None = None


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
    last = last_queued_dates(engine)
    due: list[tuple[Subscriber, Endpoint, date]] = []
    for subscriber in subscriber_store.list_subscribers(engine, active_only=True):
        for endpoint in subscriber.endpoints:
            if not (endpoint.active and endpoint.confirmed):
                continue
            day = due_digest_date(subscriber, now, last.get(endpoint.id))
            if day is not None:
                due.append((subscriber, endpoint, day))
    if not due:
        return []
    stats = load_corpus(engine, now=now, days=settings.match.corpus_days).stats
    candidates = candidates_by_endpoint(
        engine, [endpoint.id for _, endpoint, _ in due], now=now, window_days=window_days
    )
    # One matching pass for the whole tick rather than one per endpoint.
    matches = IndexedMatches(
        {subscriber.id: subscriber.profile for subscriber, _, _ in due},
        (paper for papers in candidates.values() for paper in papers),
        stats,
    )
    return [
        _plan_one(
            settings,
            subscriber,
            endpoint,
            day,
            candidates[endpoint.id],
            stats,
            matches.matcher(subscriber.id),
        )
        for subscriber, endpoint, day in due
    ]


def _plan_one(
    settings: Settings,
    subscriber: Subscriber,
    endpoint: Endpoint,
    day: date,
    candidates: list[Paper],
    stats: CorpusStats,
    matcher: Matcher,
) -> Planned:
    try:
        digest = build_digest(subscriber, endpoint, day, candidates, stats, matcher)
    except QueryError as exc:
        error = f"profile does not parse: {exc}"
        return Planned(subscriber, endpoint, day, (), 0, OutboxState.DEAD, error)
    ids = tuple(item.paper.id for item in digest.items)
    state = OutboxState.PENDING if ids or settings.delivery.send_empty else OutboxState.EMPTY
    top = digest.items[0].paper.title if digest.items else None
    return Planned(subscriber, endpoint, day, ids, digest.more, state, top_paper=top)


def queue_due(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    window_days: int = NEW_ENDPOINT_WINDOW_DAYS,
) -> int:
    """Queue every digest due at ``now`` (see :func:`plan_due`); returns rows to send."""
    queued = 0
    for plan in plan_due(engine, settings, now=now, window_days=window_days):
        ctx = {
            "subscriber_id": plan.subscriber.id,
            "endpoint_id": plan.endpoint.id,
            "digest_date": plan.digest_date,
        }
        # The unique (endpoint, date) key makes this a no-op if another process won.
        added = outbox.insert(
            engine,
            subscriber_id=plan.subscriber.id,
            endpoint_id=plan.endpoint.id,
            digest_date=plan.digest_date,
            paper_ids=plan.paper_ids,
            more=plan.more,
            state=plan.state,
            now=now,
            last_error=plan.error,
        )
        if added:
            log.info(
                "digest queued",
                **ctx,
                state=plan.state,
                papers=len(plan.paper_ids),
            )
            queued += plan.state == OutboxState.PENDING
            metrics.matches.inc(len(plan.paper_ids))
    return queued

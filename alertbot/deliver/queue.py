"""Queueing: which digests are due now, built and stored in the outbox.

A row stores what was chosen at queue time (the papers and their scores, with the
profile's interests; the sender works out which interests each paper matched and what
to highlight: :mod:`alertbot.store.chosen`) and how many more matched beyond the cap,
so sending is load, explain and render, and a retry sends the same digest.

A tick's cost follows the digests that are due, not the subscribers:

* the endpoints whose send time has come are selected in SQL (:mod:`alertbot.store.due`),
  and the due rules applied to them alone, so an idle tick reads nothing else;
* the candidates of all due endpoints are read in a few statements per 2,000 endpoints
  (:mod:`alertbot.store.candidates`), kept as suffixes of one list of recent papers;
* all due profiles are matched in one indexed pass (:mod:`alertbot.deliver.indexed`),
  and each digest is its subscriber's ranked matches kept to the endpoint's candidates;
* readers with learning on and enough feedback (one grouped query per tick finds them)
  get their matches in their model's order before the cap, the reasons and the day's
  suggestions stored on the row (:mod:`alertbot.readers`, :mod:`alertbot.store.learned`);
  ``like:`` interests are matched in a pass of their own; everyone else costs nothing more;
* the rows go in with multi-row INSERTs, a few thousand per statement, on a thread of
  their own while the next bucket is planned (:func:`_write`): one bucket written at a
  time, in order, a failed write raised at the next bucket (its own rolled back whole,
  the one planned meanwhile too). On PostgreSQL a bucket's writes are mostly the
  server's work, so the planner's Python and the server's work overlap: at 100,000
  readers the daily tick went from 11.35-11.60 s to 8.97-9.17 s and the cold one from
  13.99-14.21 s to 11.53-12.67 s (``bench tick --db postgres``, interleaved pairs).

**Several planners on one PostgreSQL.** Subscribers are split into buckets (subscriber
id modulo a power of two, about ``PLAN_CHUNK`` subscribers each); a planner
takes a bucket with ``pg_try_advisory_xact_lock`` (skip it if another planner holds it,
like ``SKIP LOCKED``), re-reads which of that bucket's endpoints are still to look at,
plans and inserts their digests, stores when to look again and commits, which releases
the bucket. So two planners share the work and
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
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, text

from alertbot import metrics
from alertbot.config import Settings
from alertbot.corpus import Corpus, CorpusCache, load_corpus
from alertbot.deliver.collector import collector_paused
from alertbot.deliver.plan import Due, Planned, QueueReport, plan_digests
from alertbot.logs import get_logger
from alertbot.match import IndexCache
from alertbot.match.evaluate import Doc, PaperKey
from alertbot.model import Endpoint, OutboxState, Subscriber
from alertbot.readers import TickLearning, VocabularyCache
from alertbot.schedule.due import LOOK_AT_LEAST_EVERY, due_digest_date, look_again_at
from alertbot.store import enqueue
from alertbot.store import subscribers as subscriber_store
from alertbot.store.due import Looked, due_buckets, look_again, to_look_at
from alertbot.store.kept import KeptSubscribers
from alertbot.store.locks import Lock

log = get_logger(__name__)

NEW_ENDPOINT_WINDOW_DAYS = 7
PLAN_CHUNK = 20_000  # subscribers per planning bucket (one matching pass, one commit)


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
    with engine.connect() as conn:
        due, _ = _decide(conn, to_look_at(conn, now=now), now, QueueReport(), KeptSubscribers())
        if not due:
            return []
        corpus = load_corpus(conn, now=now, days=settings.match.corpus_days)
        learning = TickLearning(settings, now=now, corpus=corpus.papers)
        return plan_digests(
            conn, settings, due, corpus.stats, learning, QueueReport(),
            now=now, window_days=window_days,
        )  # fmt: skip


@dataclass
class TickCaches:
    """What a dispatcher keeps from one tick to the next, each part kept while what it
    was made from is unchanged: the recent corpus and its statistics (until a paper is
    stored or the window moves a day), the learned ranking's vocabulary (until the
    corpus changes), the due subscribers (each until its version moves:
    :mod:`alertbot.store.kept`) and each planning bucket's compiled profiles (until a
    profile in it changes, or the bucket's due subscribers do). A daily tick then loads,
    parses and compiles only what readers edited since yesterday. The price is memory:
    the subscribers and the compiled profiles of every bucket stay resident between
    ticks (``bench match`` peaks at 366 MB with 100,000 realistic profiles compiled, its
    workload included; a kept subscriber is about 1 kB), bounded by the number of
    subscribers, not growing from tick to tick.
    """

    vocabulary: VocabularyCache = field(default_factory=VocabularyCache)
    corpus: CorpusCache = field(default_factory=CorpusCache)
    indexes: dict[tuple[int, int], IndexCache[int]] = field(default_factory=dict)
    subscribers: KeptSubscribers = field(default_factory=KeptSubscribers)

    def index(self, n_buckets: int, bucket: int) -> IndexCache[int]:
        if any(n != n_buckets for n, _ in self.indexes):
            self.indexes.clear()  # the buckets were cut again: the old ones never recur
        return self.indexes.setdefault((n_buckets, bucket), IndexCache())


def queue_due(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    window_days: int = NEW_ENDPOINT_WINDOW_DAYS,
    chunk: int = PLAN_CHUNK,
    caches: TickCaches | None = None,
) -> int:
    """Queue every digest due at ``now`` (see :func:`plan_due`); returns rows to send.

    Safe to run in several processes at once on PostgreSQL: they split the work by
    bucket (see the module docstring). ``chunk`` is the bucket size in subscribers.
    ``caches`` keeps what the next tick can reuse (:class:`TickCaches`).
    """
    return queue_report(
        engine, settings, now=now, window_days=window_days, chunk=chunk, caches=caches
    ).queued


def queue_report(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    window_days: int = NEW_ENDPOINT_WINDOW_DAYS,
    chunk: int = PLAN_CHUNK,
    caches: TickCaches | None = None,
) -> QueueReport:
    """:func:`queue_due`, reporting the work done and the time of each phase."""
    report = QueueReport()
    caches = caches or TickCaches()
    with report.phase("due"):
        # From the number of subscribers, not of those due: every planner of this tick
        # must cut the same buckets, and the due set shrinks as planners commit.
        n_buckets = _buckets(subscriber_store.count_subscribers(engine), chunk)
        buckets = due_buckets(engine, now=now, n_buckets=n_buckets)
    if not buckets:
        return report
    corpus: Corpus | None = None
    learning: TickLearning | None = None
    docs: dict[PaperKey, Doc] = {}  # the papers tokenised once for all the tick's buckets
    writing: Future[_Written] | None = None  # the bucket being written meanwhile
    # The collector is paused for the whole tick, not per bucket: re-enabled between
    # buckets, it ran a full pass over the kept indexes after each (2.8 s of a 100,000-
    # reader tick, cProfile), and what a bucket leaves is freed by reference counting.
    with collector_paused(), ThreadPoolExecutor(1, thread_name_prefix="queue-writer") as writer:
        for bucket in sorted(buckets):
            conn = engine.connect()
            handed = False
            try:
                conn.begin()
                if not _take(conn, n_buckets, bucket):
                    log.debug("bucket taken by another planner", bucket=bucket, buckets=n_buckets)
                    report.buckets_skipped += 1
                    continue
                report.buckets_taken += 1
                with report.phase("due"):
                    # Re-read once the bucket is ours (PostgreSQL: under its lock; SQLite has
                    # none, see _take): another planner may have handled some since.
                    mine = to_look_at(conn, now=now, bucket=(bucket, n_buckets))
                due, again = _decide(conn, mine, now, report, caches.subscribers)
                plans: list[Planned] = []
                if due:
                    if corpus is None or learning is None:
                        with report.phase("corpus"):
                            corpus = caches.corpus.get(
                                engine, now=now, days=settings.match.corpus_days
                            )
                        learning = TickLearning(
                            settings, now=now, corpus=corpus.papers, cache=caches.vocabulary
                        )
                    plans = plan_digests(
                        conn, settings, due, corpus.stats, learning, report,
                        now=now, window_days=window_days, index=caches.index(n_buckets, bucket),
                        docs=docs,
                    )  # fmt: skip
                report.looked_at += len(mine)
                report.planned += len(plans)
                # One bucket written at a time: the one before must be in (or its error
                # raised here) before this one's transaction goes to the writer.
                if writing is not None:
                    report.queued += _written(writing, report)
                writing = writer.submit(_write, conn, plans, again, now)
                handed = True
            finally:
                if not handed:
                    conn.close()  # rolls back, which releases the bucket
        if writing is not None:
            report.queued += _written(writing, report)
    return report


@dataclass(frozen=True, slots=True)
class _Written:
    plans: list[Planned]
    added: set[tuple[int, date]]
    seconds: float


def _write(
    conn: Connection, plans: list[Planned], again: dict[int, datetime], now: datetime
) -> _Written:
    """A planned bucket's writes, on the writer thread: its digests, when to look at its
    endpoints again, the commit (which releases the bucket's lock), the connection
    closed whatever happens (rolled back if not committed).

    They run beside the next bucket's planning: on PostgreSQL most of a bucket's writes
    is the server's work (the rows' indexes and foreign keys, the endpoints' updates)
    while the planner's thread waits on a socket, so the two overlap, as two planner
    processes overlap them (``bench tick --planners 2``) but in one process."""
    started = time.perf_counter()
    try:
        added = (
            enqueue.insert_many(conn, [_row(p) for p in plans], now=now, advance=False)
            if plans
            else set()
        )
        look_again(conn, again, added)
        conn.commit()
    finally:
        conn.close()
    return _Written(plans, added, time.perf_counter() - started)


def _written(writing: Future[_Written], report: QueueReport) -> int:
    """Wait for a bucket's writes (raising their error); the digests they queued. The
    writes' own time is the ``insert`` phase, the part the planner waited for ``wait``."""
    with report.phase("wait"):
        done = writing.result()
    report.phases["insert"] += done.seconds
    return _report(done.plans, done.added)


def _row(plan: Planned) -> enqueue.NewRow:
    return enqueue.NewRow(
        subscriber_id=plan.subscriber.id,
        endpoint_id=plan.endpoint.id,
        digest_date=plan.digest_date,
        state=plan.state,
        matches=plan.matches,
        bare=plan.bare,
        more=plan.more,
        last_error=plan.error,
        learning=plan.learning,
        rest=plan.rest,
    )


def _decide(
    conn: Connection,
    looked: Sequence[Looked],
    now: datetime,
    report: QueueReport,
    kept: KeptSubscribers,
) -> tuple[list[Due], dict[int, datetime]]:
    """Apply the due rules to the endpoints looked at: the digests due now, and when to
    look at each endpoint again (after the date handled now, if any)."""
    with report.phase("subscribers"):
        subscribers = kept.get(conn, {lk.subscriber_id for lk in looked})
    due: list[Due] = []
    again: dict[int, datetime] = {}
    # The rules depend on the schedule and the last date only, which most subscribers
    # share with thousands of others: each distinct case is worked out once.
    known: dict[tuple[object, ...], tuple[date | None, datetime]] = {}
    with report.phase("due"):
        for lk in looked:
            subscriber = subscribers.get(lk.subscriber_id)
            endpoint = _endpoint(subscriber, lk.endpoint_id)
            if subscriber is None or endpoint is None:
                continue  # deleted since it was selected
            case = (
                subscriber.timezone, subscriber.send_time, subscriber.frequency,
                subscriber.weekly_day, subscriber.active, lk.last_digest_date,
            )  # fmt: skip
            try:
                if case not in known:
                    day = due_digest_date(subscriber, now, lk.last_digest_date)
                    last = day if day is not None else lk.last_digest_date
                    known[case] = (day, look_again_at(subscriber, now, last))
                day, when = known[case]
            except (ZoneInfoNotFoundError, ValueError) as exc:
                # Validation refuses these at input; one bad row must not stop the tick.
                log.warning("subscriber skipped", subscriber_id=subscriber.id, error=str(exc))
                again[endpoint.id] = now + LOOK_AT_LEAST_EVERY
                continue
            if day is not None and endpoint.active and endpoint.confirmed:
                due.append(Due(subscriber, endpoint, day))
            again[endpoint.id] = when
    return due, again


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
        papers += len(plan.paper_ids)
        if each:
            log.debug(
                "digest queued",
                subscriber_id=plan.subscriber.id,
                endpoint_id=plan.endpoint.id,
                digest_date=plan.digest_date,
                state=plan.state,
                papers=len(plan.paper_ids),
            )
    if counts:
        log.info("digests planned", papers=papers, **counts)
    metrics.matches.inc(papers)
    return counts.get(OutboxState.PENDING, 0)


def _endpoint(subscriber: Subscriber | None, endpoint_id: int) -> Endpoint | None:
    if subscriber is None:
        return None
    return next((e for e in subscriber.endpoints if e.id == endpoint_id), None)


def _buckets(n_subscribers: int, chunk: int) -> int:
    """A power of two, so planners that count a signup more or less still agree."""
    n = 1
    while n * max(chunk, 1) < n_subscribers:
        n *= 2
    return n


def _take(conn: Connection, n_buckets: int, bucket: int) -> bool:
    """Take a planning bucket for this transaction; False if another planner has it."""
    if conn.dialect.name != "postgresql":
        # Nothing to take on SQLite: the bucket's reads take no lock, so two planners both
        # plan it in full (the work done twice); only their writes take turns, at the one
        # writer, and the unique key keeps one row a digest (the later insert skips it).
        return True
    key = n_buckets * 100_000 + bucket
    # Advisory locks are per database, not per schema: the class is scoped by the store's
    # schema, or a planner of another store in the same database (a second deployment
    # behind its own search_path) would make this one skip its bucket for the tick.
    return bool(
        conn.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtext(current_schema()) # :cls, :key)"),
            {"cls": int(Lock.PLANNING), "key": key},
        ).scalar_one()
    )

"""Candidate papers per endpoint, delivery marks and corpus statistics, on both backends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, event, insert, update

from alertbot.corpus import load_corpus
from alertbot.model import Endpoint, EndpointKind
from alertbot.store import candidates, deliveries, marks
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as subs
from alertbot.store.papers import upsert_papers
from alertbot.store.schema import delivered_papers, outbox
from alertbot.store.schema import endpoints as endpoints_table
from alertbot.store.schema import subscribers as subscribers_table
from tests.helpers.builders import paper

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def _endpoint(engine: Engine, address: str = "a@b.org") -> Endpoint:
    sub = subs.create_subscriber(engine, name=address, now=T0)
    return endpoint_store.add_endpoint(engine, sub.id, EndpointKind.EMAIL, address, now=T0)


def _store(engine: Engine, numbers: Sequence[int], at: datetime) -> None:
    upsert_papers(engine, [paper(n) for n in numbers], source="test", now=at)


def _outbox(
    engine: Engine,
    ep: Endpoint,
    *,
    day: date,
    state: str,
    created: datetime,
    paper_ids: Sequence[str] = (),
) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(outbox)
                .values(
                    subscriber_id=ep.subscriber_id,
                    endpoint_id=ep.id,
                    digest_date=day,
                    state=state,
                    attempts=0,
                    next_attempt_at=created,
                    created_at=created,
                    sent_at=created + timedelta(minutes=1) if state == "sent" else None,
                    paper_ids=list(paper_ids),
                )
                .returning(outbox.c.id)
            ).scalar_one()
        )


def _ids(numbers: Sequence[int]) -> list[str]:
    return [paper(n).id for n in numbers]


def test_it_offers_the_last_window_days_to_a_new_endpoint(engine: Engine) -> None:
    """With nothing sent yet, papers first stored within window_days are candidates."""
    ep = _endpoint(engine)
    _store(engine, [1], T0 - timedelta(days=10))
    _store(engine, [2, 3], T0 - timedelta(days=2))
    found = candidates.candidate_papers(engine, ep, now=T0, window_days=7)
    assert [p.id for p in found] == _ids([2, 3])


def test_it_offers_papers_stored_since_the_last_sent_digest_was_queued(engine: Engine) -> None:
    """The cut-off is the sent digest's queueing time: later papers only, even ones stored
    between queueing and sending."""
    ep = _endpoint(engine)
    _store(engine, [1, 2], T0)
    queued = T0 + timedelta(hours=2)
    _outbox(engine, ep, day=date(2026, 11, 20), state="sent", created=queued)
    _store(engine, [3], queued + timedelta(seconds=30))  # before sent_at (queued + 1 min)
    _store(engine, [4], queued + timedelta(hours=5))
    found = candidates.candidate_papers(engine, ep, now=T0 + timedelta(days=1))
    assert [p.id for p in found] == _ids([3, 4])


def test_it_never_offers_a_paper_already_delivered_on_the_endpoint(engine: Engine) -> None:
    """Delivered papers are left out on that endpoint only."""
    ep = _endpoint(engine)
    other = _endpoint(engine, "c@d.org")
    _store(engine, [1, 2, 3], T0)
    box = _outbox(engine, ep, day=date(2026, 11, 19), state="failed", created=T0)
    marks.mark_delivered(engine, ep.id, _ids([2]), box, now=T0)
    now = T0 + timedelta(hours=1)
    assert [p.id for p in candidates.candidate_papers(engine, ep, now=now)] == _ids([1, 3])
    assert [p.id for p in candidates.candidate_papers(engine, other, now=now)] == _ids([1, 2, 3])


def test_it_holds_back_papers_of_a_digest_still_in_flight(engine: Engine) -> None:
    """Papers in a pending/failed/unknown digest are not offered again; a dead one's are."""
    ep = _endpoint(engine)
    _store(engine, [1, 2, 3, 4], T0)
    now = T0 + timedelta(hours=1)
    _outbox(engine, ep, day=date(2026, 11, 18), state="pending", created=T0, paper_ids=_ids([1]))
    _outbox(engine, ep, day=date(2026, 11, 19), state="unknown", created=T0, paper_ids=_ids([2]))
    dead = _outbox(
        engine, ep, day=date(2026, 11, 20), state="dead", created=T0, paper_ids=_ids([3])
    )
    assert [p.id for p in candidates.candidate_papers(engine, ep, now=now)] == _ids([3, 4])
    only = candidates.candidate_papers(engine, ep, now=now, exclude_outbox_id=dead)
    assert [p.id for p in only] == _ids([3, 4])


def test_it_lets_a_failed_digests_papers_roll_into_the_next(engine: Engine) -> None:
    """A digest that ends dead releases its papers to the next digest."""
    ep = _endpoint(engine)
    _store(engine, [1], T0)
    box = _outbox(engine, ep, day=date(2026, 11, 20), state="failed", created=T0,
                  paper_ids=_ids([1]))  # fmt: skip
    now = T0 + timedelta(days=1)
    assert candidates.candidate_papers(engine, ep, now=now) == []
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == box).values(state="dead"))
    assert [p.id for p in candidates.candidate_papers(engine, ep, now=now)] == _ids([1])


def test_a_digest_that_dies_after_a_later_one_was_sent_still_rolls_over(engine: Engine) -> None:
    """D fails, D+1 is sent (its cut-off passes D's papers), then D dies: D's papers come
    back in the next digest, except any the endpoint got some other way."""
    ep = _endpoint(engine)
    _store(engine, [1, 2], T0)
    day_d = _outbox(engine, ep, day=date(2026, 11, 20), state="failed", created=T0,
                    paper_ids=_ids([1, 2]))  # fmt: skip
    _store(engine, [3], T0 + timedelta(hours=20))
    later = T0 + timedelta(days=1)
    sent = _outbox(engine, ep, day=date(2026, 11, 21), state="sent", created=later,
                   paper_ids=_ids([3]))  # fmt: skip
    marks.mark_delivered(engine, ep.id, _ids([3]), sent, now=later)
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == day_d).values(state="dead"))
    _store(engine, [4], later + timedelta(hours=1))
    now = later + timedelta(hours=2)
    assert [p.id for p in candidates.candidate_papers(engine, ep, now=now)] == _ids([1, 2, 4])
    marks.mark_delivered(engine, ep.id, _ids([2]), sent, now=now)
    assert [p.id for p in candidates.candidate_papers(engine, ep, now=now)] == _ids([1, 4])
    # Past window_days, a dead digest's papers are stale and stay out.
    stale = now + timedelta(days=8)
    assert [p.id for p in candidates.candidate_papers(engine, ep, now=stale)] == _ids([4])


def test_it_ignores_duplicate_delivery_marks(engine: Engine) -> None:
    """Marking the same papers twice adds them once and does not fail."""
    ep = _endpoint(engine)
    _store(engine, [1, 2], T0)
    box = _outbox(engine, ep, day=date(2026, 11, 20), state="sent", created=T0)
    assert marks.mark_delivered(engine, ep.id, _ids([1, 2, 1]), box, now=T0) == 2
    assert marks.mark_delivered(engine, ep.id, _ids([1, 2]), box, now=T0) == 0
    assert deliveries.delivered_paper_ids(engine, ep.id) == set(_ids([1, 2]))


def test_it_marks_delivered_inside_the_callers_transaction(engine: Engine) -> None:
    """With a Connection, the marks commit or roll back with the caller's transaction."""
    ep = _endpoint(engine)
    _store(engine, [1], T0)
    box = _outbox(engine, ep, day=date(2026, 11, 20), state="sent", created=T0)
    with engine.connect() as conn:
        tx = conn.begin()
        marks.mark_delivered(conn, ep.id, _ids([1]), box, now=T0)
        tx.rollback()
    assert deliveries.delivered_paper_ids(engine, ep.id) == set()


def test_it_reports_the_last_sent_digest(engine: Engine) -> None:
    """The last sent date and cut-off ignore digests that were not sent."""
    ep = _endpoint(engine)
    assert candidates.last_sent_digest_date(engine, ep.id) is None
    assert candidates.last_sent_cutoff(engine, ep.id) is None
    _outbox(engine, ep, day=date(2026, 11, 19), state="sent", created=T0)
    _outbox(engine, ep, day=date(2026, 11, 20), state="failed", created=T0 + timedelta(days=1))
    assert candidates.last_sent_digest_date(engine, ep.id) == date(2026, 11, 19)
    assert candidates.last_sent_cutoff(engine, ep.id) == T0


def test_it_builds_corpus_statistics_over_recent_papers(engine: Engine) -> None:
    """Only papers first stored in the last ``days`` days count in the corpus."""
    _store(engine, [1], T0 - timedelta(days=40))
    _store(engine, [2, 3], T0 - timedelta(days=1))
    stats = load_corpus(engine, now=T0, days=30).stats
    assert stats.n_docs == 2


def test_it_lists_recent_outbox_rows_newest_first(engine: Engine) -> None:
    """``subscribers show`` sees the latest digests with their paper counts."""
    ep = _endpoint(engine)
    _outbox(engine, ep, day=date(2026, 11, 19), state="sent", created=T0, paper_ids=_ids([1]))
    _outbox(engine, ep, day=date(2026, 11, 20), state="failed", created=T0,
            paper_ids=_ids([2, 3]))  # fmt: skip
    rows = deliveries.recent_outbox(engine, [ep.id])
    assert [(r.digest_date.day, r.state, r.n_papers) for r in rows] == [
        (20, "failed", 2),
        (19, "sent", 1),
    ]


def _plans(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    """Each statement's query plan, as the database would run it now."""
    explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        return [
            "\n".join(str(row[-1]) for row in conn.exec_driver_sql(explain + sql, params))
            for sql, params in statements
        ]


def _readers(conn: Connection, n: int, *, since: datetime) -> None:
    """Readers 1..n, each with one email endpoint of the same id, made at ``since``."""
    conn.execute(
        insert(subscribers_table),
        [{"id": i, "name": f"r{i}", "timezone": "UTC", "send_time": "06:00",
          "frequency": "daily", "weekly_day": 0, "active": True, "min_score": 0.0,
          "max_papers": 20, "created_at": since, "updated_at": since}
         for i in range(1, n + 1)],
    )  # fmt: skip
    conn.execute(
        insert(endpoints_table),
        [{"id": i, "subscriber_id": i, "kind": "email", "address": f"r{i}@example.org",
          "active": True, "confirmed": True, "created_at": since}
         for i in range(1, n + 1)],
    )  # fmt: skip


def test_the_outbox_is_probed_per_endpoint_even_when_its_statistics_are_stale(
    engine: Engine,
) -> None:
    """A morning tick: the planner's statistics were taken before the day's rows were
    queued (they say nothing is pending), and earlier buckets have since queued a
    pending digest for thousands of other endpoints. This bucket's candidates must
    still be read by index probes of its own endpoints, never by reading every pending
    row through the state index (on PostgreSQL that plan read 100,000 pending rows per
    2,000 endpoints), and still hold back the papers of its few digests in flight."""
    n = 5000
    yesterday = T0 - timedelta(days=1)
    mine = list(range(n // 2 + 1, n + 1))
    retrying = mine[::100]  # yesterday's digest failed and waits for a retry
    with engine.begin() as conn:
        _readers(conn, n, since=yesterday)
        row = {"attempts": 1, "next_attempt_at": yesterday, "created_at": yesterday}
        conn.execute(
            insert(outbox),
            [{**row, "subscriber_id": i, "endpoint_id": i, "digest_date": yesterday.date(),
              "state": "failed" if i in retrying else "sent", "paper_ids": [f"held-{i}"]}
             for i in range(1, n + 1)],
        )  # fmt: skip
        conn.exec_driver_sql("ANALYZE")
        today = {"state": "pending", "attempts": 0, "next_attempt_at": T0, "created_at": T0}
        conn.execute(
            insert(outbox),
            [{**today, "subscriber_id": i, "endpoint_id": i, "digest_date": T0.date(),
              "paper_ids": [f"other-{i}"]}
             for i in range(1, n // 2 + 1)],
        )  # fmt: skip
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, *_rest: Any) -> None:
        if "outbox" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        found = candidates.gather(engine, mine, now=T0 + timedelta(hours=1))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert {e: h for e, h in found.held.items() if h} == {i: {f"held-{i}"} for i in retrying}
    plans = _plans(engine, seen)
    assert len(plans) >= 2
    for plan in plans:
        assert "ix_outbox_state_next" not in plan, plan


def test_delivered_papers_are_read_per_endpoint_however_long_the_history(
    engine: Engine,
) -> None:
    """A year of digests leaves every endpoint hundreds of delivered papers, all stored
    before its last sent digest was queued. The papers delivered since each endpoint's
    cut-off (a recurring paper marked delivered after it was queued) must still be read
    by one range of ``ix_delivered_papers_since`` per endpoint: PostgreSQL joined the
    whole table by hash instead, one pass over every delivered paper per 2,000
    endpoints (250 ms a pass at 2,000,000 marks, growing with history)."""
    n, history = 4000, 40
    yesterday = T0 - timedelta(days=1)
    with engine.begin() as conn:
        _readers(conn, n, since=yesterday)
        conn.execute(
            insert(outbox),
            [{"id": i, "subscriber_id": i, "endpoint_id": i, "digest_date": yesterday.date(),
              "state": "sent", "attempts": 1, "next_attempt_at": yesterday,
              "created_at": yesterday, "paper_ids": []}
             for i in range(1, n + 1)],
        )  # fmt: skip
        old = yesterday - timedelta(days=30)
        conn.execute(
            insert(delivered_papers),
            [{"endpoint_id": i, "paper_id": f"p{k}", "outbox_id": i, "delivered_at": yesterday,
              "first_seen": old}
             for i in range(1, n + 1) for k in range(history)],
        )  # fmt: skip
        recurring = range(2, n + 1, 500)  # delivered after its digest was queued
        conn.execute(
            insert(delivered_papers),
            [{"endpoint_id": i, "paper_id": "late", "outbox_id": i, "delivered_at": T0,
              "first_seen": yesterday + timedelta(minutes=5)} for i in recurring],
        )  # fmt: skip
        conn.exec_driver_sql("ANALYZE")
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, *_rest: Any) -> None:
        if "delivered_papers" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    mine = list(range(1, n // 2 + 1))
    event.listen(engine, "before_cursor_execute", record)
    try:
        found = candidates.gather(engine, mine, now=T0)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    late = {i: {"late"} for i in recurring if i in mine}
    assert {e: h for e, h in found.held.items() if h} == late
    plans = _plans(engine, seen)
    assert plans
    for plan in plans:
        assert "Seq Scan on delivered_papers" not in plan, plan
        assert "SCAN delivered_papers" not in plan, plan

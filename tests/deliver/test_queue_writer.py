"""A tick writes each planned bucket beside the next one's planning: one bucket at a
time, in order, each committed before the next is written, and a failed write loses
only its own bucket, which the next tick queues."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from alertbot.deliver.queue import queue_due, queue_report
from alertbot.model import EndpointKind, Profile
from alertbot.store import deliveries, enqueue
from alertbot.store import endpoints as endpoint_store
from alertbot.store import papers as paper_store
from alertbot.store import subscribers as subscriber_store
from alertbot.store.schema import endpoints, outbox
from tests.helpers.delivery import NOW, make_papers, make_settings

READERS = 8  # with chunk=1, eight buckets of one reader each


def _readers(engine: Engine) -> None:
    paper_store.upsert_papers(engine, make_papers(), source="test", now=NOW - timedelta(hours=1))
    for n in range(READERS):
        sub = subscriber_store.create_subscriber(
            engine, name=f"r{n}", now=NOW - timedelta(days=3), profile=Profile(("diffusion",))
        )
        endpoint_store.add_endpoint(
            engine, sub.id, EndpointKind.EMAIL, f"r{n}@example.org", now=NOW - timedelta(days=3)
        )


def _queued(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def test_buckets_are_written_one_at_a_time_each_committed_before_the_next(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _readers(engine)
    real = enqueue.insert_many
    writing = 0
    seen: list[tuple[int, int, bool]] = []  # (writes at once, rows committed, planner's thread)
    lock = threading.Lock()

    def watched(db: Any, rows: Any, **kwargs: Any) -> Any:
        nonlocal writing
        with lock:
            writing += 1
            at_once = writing
        try:
            # Read on a connection of its own: only what earlier buckets committed.
            seen.append((at_once, _queued(engine), threading.current_thread() is main))
            return real(db, rows, **kwargs)
        finally:
            with lock:
                writing -= 1

    main = threading.current_thread()
    monkeypatch.setattr(enqueue, "insert_many", watched)
    report = queue_report(engine, make_settings(tmp_path), now=NOW, chunk=1)
    assert report.buckets_taken == READERS
    assert report.queued == READERS
    assert [at_once for at_once, _, _ in seen] == [1] * READERS
    assert [committed for _, committed, _ in seen] == list(range(READERS))
    assert not any(on_main for _, _, on_main in seen)  # written beside the planning


def test_a_failed_write_loses_only_its_bucket_and_the_next_tick_queues_it(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _readers(engine)
    settings = make_settings(tmp_path)
    real = enqueue.insert_many
    calls = 0

    def third_fails(db: Any, rows: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError("no space left on device")
        return real(db, rows, **kwargs)

    monkeypatch.setattr(enqueue, "insert_many", third_fails)
    with pytest.raises(OSError, match="no space left"):
        queue_due(engine, settings, now=NOW, chunk=1)
    # The two buckets written before it are in; the failed one and the one planned
    # meanwhile were rolled back whole: no row, no next look, no last date.
    assert _queued(engine) == 2
    with engine.connect() as conn:
        untouched = conn.execute(
            select(func.count())
            .select_from(endpoints)
            .where(endpoints.c.last_digest_date.is_(None), endpoints.c.next_due_at.is_(None))
        ).scalar_one()
    assert untouched == READERS - 2
    monkeypatch.setattr(enqueue, "insert_many", real)
    assert queue_due(engine, settings, now=NOW, chunk=1) == READERS - 2
    rows = deliveries.list_rows(engine, limit=100)
    assert len(rows) == READERS
    assert len({(r.endpoint_id, r.digest_date) for r in rows}) == READERS

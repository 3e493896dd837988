"""Several planners on one PostgreSQL share a tick and never queue a digest twice."""

from __future__ import annotations

import multiprocessing
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from alertbot.deliver.queue import _take, queue_report
from alertbot.model import EndpointKind, Profile
from alertbot.store import connect, deliveries, migrate
from alertbot.store import endpoints as endpoint_store
from alertbot.store import papers as paper_store
from alertbot.store import subscribers as subscriber_store
from tests.helpers.delivery import NOW, make_papers, make_settings

pytestmark = pytest.mark.postgres
READERS = 48


def _plan(url: str, tmp: str, go: Any, results: Any) -> None:
    """One planner process: wait for the start signal, then run one tick."""
    engine = connect(url)
    settings = make_settings(Path(tmp))
    go.wait(10)
    report = queue_report(engine, settings, now=NOW, chunk=3)  # 16 buckets
    engine.dispose()
    results.put((report.planned, report.buckets_taken, report.buckets_skipped))


def test_two_planners_split_a_tick_and_queue_each_digest_once(
    tmp_path: Path, postgres_url: str
) -> None:
    """Two processes tick at the same moment: every due digest is queued exactly once,
    and planned once in all (a bucket one planner holds, the other skips)."""
    engine = connect(postgres_url)
    migrate(engine)
    paper_store.upsert_papers(engine, make_papers(), source="test", now=NOW - timedelta(hours=1))
    for n in range(READERS):
        sub = subscriber_store.create_subscriber(
            engine, name=f"r{n}", now=NOW - timedelta(days=3), profile=Profile(("diffusion",))
        )
        endpoint_store.add_endpoint(
            engine, sub.id, EndpointKind.EMAIL, f"r{n}@example.org", now=NOW - timedelta(days=3)
        )
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    procs = [
        context.Process(target=_plan, args=(postgres_url, str(tmp_path), go, results))
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    go.set()
    done = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)
    print("planners (planned, buckets taken, skipped):", done)
    rows = deliveries.list_rows(engine, limit=1000)
    engine.dispose()
    assert len(rows) == READERS
    assert max(Counter((r.endpoint_id, r.digest_date) for r in rows).values()) == 1
    assert sum(planned for planned, _, _ in done) == READERS  # nobody planned twice


def test_a_planner_of_another_store_in_the_same_database_does_not_block_this_one(
    tmp_path: Path, postgres_url: str
) -> None:
    """Two stores in one PostgreSQL database (each behind its own search_path): a planner
    holding every bucket of one store leaves the other store's tick whole."""
    engine = connect(postgres_url)
    migrate(engine)
    paper_store.upsert_papers(engine, make_papers(), source="test", now=NOW - timedelta(hours=1))
    sub = subscriber_store.create_subscriber(
        engine, name="r", now=NOW - timedelta(days=3), profile=Profile(("diffusion",))
    )
    endpoint_store.add_endpoint(
        engine, sub.id, EndpointKind.EMAIL, "r@example.org", now=NOW - timedelta(days=3)
    )
    base, _, _ = postgres_url.partition("?")
    other_schema = f"other_{uuid.uuid4().hex[:12]}"
    admin = connect(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{other_schema}"'))
    other = connect(f"{base}?options=-csearch_path%3D{other_schema}")
    try:
        with other.begin() as held:
            for n_buckets, bucket in ((1, 0), (2, 0), (2, 1)):  # what a small tick takes
                assert _take(held, n_buckets, bucket)
            report = queue_report(engine, make_settings(tmp_path), now=NOW)
        assert (report.planned, report.buckets_skipped) == (1, 0)
        assert len(deliveries.list_rows(engine)) == 1
    finally:
        other.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{other_schema}" CASCADE'))
        admin.dispose()
        engine.dispose()

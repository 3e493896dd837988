"""Queueing many digests at once: multi-row statements, the unique key, the last date."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from alertbot.model import EndpointKind, Hit, Match, OutboxState
from alertbot.store import chosen, deliveries, enqueue
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as subs
from alertbot.store.due import to_look_at

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)


def _endpoints(engine: Engine, n: int) -> list[tuple[int, int]]:
    out = []
    for i in range(n):
        sub = subs.create_subscriber(engine, name=f"r{i}", now=T0)
        ep = endpoint_store.add_endpoint(
            engine, sub.id, EndpointKind.EMAIL, f"r{i}@example.org", now=T0
        )
        out.append((sub.id, ep.id))
    return out


@contextmanager
def _inserts(engine: Engine) -> Iterator[list[str]]:
    """The INSERT statements sent to the database while inside."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _row(sid: int, eid: int, day: date = DAY, paper: str = "2611.00001") -> enqueue.NewRow:
    hit = Hit("graph", "title", "graph", ((0, 5),))
    return enqueue.NewRow(
        sid, eid, day, OutboxState.PENDING, (Match(paper, 1.5, ("graph",), (hit,)),)
    )


def test_it_queues_thousands_of_digests_in_a_few_statements(engine: Engine) -> None:
    """2,500 digests take at most a handful of INSERT statements, not 2,500."""
    pairs = _endpoints(engine, 50)
    rows = [_row(sid, eid, DAY - timedelta(days=d)) for sid, eid in pairs for d in range(50)]
    with _inserts(engine) as statements:
        added = enqueue.insert_many(engine, rows, now=T0)
    assert len(added) == 2500
    assert len(statements) <= 6
    stored = deliveries.list_rows(engine, limit=5000)
    assert len(stored) == 2500
    assert {r.matches() for r in stored} == {rows[0].matches}


def test_it_skips_digests_already_queued_and_says_which_it_added(engine: Engine) -> None:
    """The unique (endpoint, date) key: a second planner's rows for the same digests are
    dropped, its new ones kept, and the returned pairs are only those really added."""
    (a, b) = _endpoints(engine, 2)
    assert enqueue.insert_many(engine, [_row(*a)], now=T0) == {(a[1], DAY)}
    again = enqueue.insert_many(engine, [_row(*a, paper="other"), _row(*b)], now=T0)
    assert again == {(b[1], DAY)}
    (first,) = [r for r in deliveries.list_rows(engine) if r.endpoint_id == a[1]]
    assert first.paper_ids == ("2611.00001",)  # the first planner's digest stands


def test_it_moves_each_endpoints_last_digest_date_forward_only(engine: Engine) -> None:
    """The endpoint's last queued date follows the newest row, never an older one."""
    ((sid, eid),) = _endpoints(engine, 1)
    enqueue.insert_many(engine, [_row(sid, eid, DAY)], now=T0)
    enqueue.insert_many(engine, [_row(sid, eid, DAY - timedelta(days=3))], now=T0)
    (looked,) = to_look_at(engine, now=T0)
    assert looked.last_digest_date == DAY


# Scores whose shortest repr is long, a tiny and a huge one, and text that needs escaping.
AWKWARD_SCORES = [0.1 + 0.2, 2.718281828459045, 1e-300, 1.7976931348623157e308, 4.069111629722197]
AWKWARD_TEXT = ('he said "graph"\\n', "Schrödinger – ü", "emoji \U0001f600", "\u2028 line")


@pytest.mark.parametrize("batch", [False, True], ids=["alone", "in a batch"])
def test_it_stores_every_column_exactly_as_given(engine: Engine, batch: bool) -> None:
    """What goes in comes back unchanged, on either database and either way a batch goes
    in (alone, or with enough others to be COPYed on PostgreSQL): a bare digest's scores
    bit for bit, interests and ids needing escapes, the rest, an error text, the clock."""
    ((sid, eid),) = _endpoints(engine, 1)
    ids = [f"2611.0000{i}" for i in range(len(AWKWARD_SCORES))]
    bare = chosen.Bare(AWKWARD_TEXT, ids, AWKWARD_SCORES)
    rest = chosen.Bare(AWKWARD_TEXT, ['x"y'], [0.30000000000000004])
    row = enqueue.NewRow(
        sid, eid, DAY, OutboxState.EMPTY, more=1, last_error='no "match"', rest=rest, bare=bare
    )
    # The others: the same endpoint on earlier days (as many as a COPY needs).
    others = [
        dataclasses.replace(row, digest_date=DAY - timedelta(days=d))
        for d in range(1, (enqueue.COPY_FROM if batch else 0) + 1)
    ]
    assert (eid, DAY) in enqueue.insert_many(engine, [row, *others], now=T0)
    (stored,) = [r for r in deliveries.list_rows(engine, limit=1000) if r.digest_date == DAY]
    assert stored.paper_ids == tuple(ids)
    assert stored.matches_bare
    assert stored.matches() == bare.matches()
    assert [m.score for m in stored.matches()] == AWKWARD_SCORES
    assert stored.rest() == rest.matches()
    assert (stored.state, stored.more, stored.last_error) == (OutboxState.EMPTY, 1, 'no "match"')
    assert (stored.created_at, stored.next_attempt_at, stored.attempts) == (T0, T0, 0)
    assert stored.learning() is None

"""The tick's selection in SQL queues exactly what the pure due rules say, when they say."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine

from alertbot.deliver import queue_due
from alertbot.model import Endpoint, EndpointKind, Frequency, OutboxState, Profile, Subscriber
from alertbot.schedule.due import due_digest_date
from alertbot.store import deliveries
from alertbot.store import endpoints as endpoint_store
from alertbot.store import enqueue as rows
from alertbot.store import subscribers as subs
from alertbot.store.due import due_buckets, to_look_at
from tests.helpers.delivery import make_settings

START = datetime(2026, 3, 27, 0, 0, tzinfo=UTC)  # Paris springs forward on the 29th
NOTHING = Profile(("cryptography",))  # matches nothing: rows are queued "empty"


def _add(
    engine: Engine,
    name: str,
    tz: str,
    at: time,
    frequency: Frequency = Frequency.DAILY,
    *,
    weekly_day: int = 0,
    active: bool = True,
    confirmed: bool = True,
) -> Endpoint:
    sub = subs.create_subscriber(
        engine,
        name=name,
        now=START - timedelta(days=10),
        profile=NOTHING,
        timezone=tz,
        send_time=at,
        frequency=frequency,
        weekly_day=weekly_day,
        active=active,
    )
    return endpoint_store.add_endpoint(
        engine, sub.id, EndpointKind.EMAIL, f"{name}@example.org", now=START, confirmed=confirmed
    )


def _queued(engine: Engine) -> set[tuple[int, date]]:
    return {(r.endpoint_id, r.digest_date) for r in deliveries.list_rows(engine, limit=10_000)}


def test_it_queues_what_the_rules_say_at_every_tick(tmp_path: Path, engine: Engine) -> None:
    """Ticking every hour for four days through a DST change, with edits, pauses and
    a digest from before: each tick queues exactly the (endpoint, date) pairs
    ``due_digest_date`` gives at that instant, and leaves nothing to look at until the
    next send time."""
    settings = make_settings(tmp_path)
    eps = [
        _add(engine, "utc", "UTC", time(8, 0)),
        _add(engine, "paris", "Europe/Paris", time(2, 30)),
        _add(engine, "ny", "America/New_York", time(7, 15), Frequency.WEEKDAYS),
        _add(engine, "tokyo", "Asia/Tokyo", time(9, 0), Frequency.WEEKLY, weekly_day=6),
        _add(engine, "paused", "UTC", time(6, 0), active=False),
        _add(engine, "unconfirmed", "UTC", time(6, 0), confirmed=False),
        _add(engine, "edited", "Europe/Berlin", time(20, 0)),
        _add(engine, "history", "UTC", time(10, 0)),
    ]
    disabled = _add(engine, "disabled", "UTC", time(5, 0))
    endpoint_store.set_endpoint_active(engine, disabled.id, False, reason="gone")
    eps.append(disabled)
    history = eps[-2]
    # A digest queued three days before: the first tick catches up with one digest.
    rows.insert(
        engine,
        subscriber_id=history.subscriber_id,
        endpoint_id=history.id,
        digest_date=date(2026, 3, 24),
        paper_ids=[],
        more=0,
        state=OutboxState.SENT,
        now=START - timedelta(days=3),
    )
    last: dict[int, date | None] = {e.id: None for e in eps}
    last[history.id] = date(2026, 3, 24)
    now = START
    while now < START + timedelta(days=4):
        if now == START + timedelta(days=1, hours=8):
            # An edit to an earlier time, a pause that ends, a confirmation.
            subs.update_subscriber(engine, eps[6].subscriber_id, now=now, send_time=time(9, 0))
            subs.update_subscriber(engine, eps[4].subscriber_id, now=now, active=True)
            endpoint_store.confirm_endpoint(engine, eps[5].id)
        before = _queued(engine)
        queue_due(engine, settings, now=now)
        queued = _queued(engine) - before
        expected: set[tuple[int, date]] = set()
        for subscriber in subs.list_subscribers(engine):
            current = subscriber.endpoints[0]
            if not (current.active and current.confirmed):
                continue
            endpoint = current
            day = due_digest_date(subscriber, now, last[endpoint.id])
            if day is not None:
                expected.add((endpoint.id, day))
                last[endpoint.id] = day
        assert queued == expected, now
        assert to_look_at(engine, now=now) == [], now
        now += timedelta(hours=1)
    # Every deliverable endpoint got digests; the disabled one none.
    assert {e for e, _ in _queued(engine)} == {e.id for e in eps} - {disabled.id}


def test_an_edit_to_an_earlier_send_time_is_seen_at_the_next_tick(
    tmp_path: Path, engine: Engine
) -> None:
    """Moving today's send time before now makes today's digest due at once, not at the
    time the tick had planned to look (the edit clears it)."""
    settings = make_settings(tmp_path)
    endpoint = _add(engine, "reader", "UTC", time(18, 0))
    morning = START + timedelta(hours=9)
    queue_due(engine, settings, now=morning)  # not due before 18:00: look again then
    assert _queued(engine) == set()
    assert to_look_at(engine, now=morning + timedelta(minutes=1)) == []
    subs.update_subscriber(engine, endpoint.subscriber_id, now=morning, send_time=time(8, 0))
    queue_due(engine, settings, now=morning + timedelta(minutes=1))
    assert _queued(engine) == {(endpoint.id, morning.date())}


def _subscriber(engine: Engine, endpoint: Endpoint) -> Subscriber:
    found = subs.get_subscriber(engine, endpoint.subscriber_id)
    assert found is not None
    return found


def test_a_new_endpoint_is_looked_at_at_the_next_tick(tmp_path: Path, engine: Engine) -> None:
    """An endpoint added to a subscriber already handled today gets today's digest."""
    settings = make_settings(tmp_path)
    first = _add(engine, "reader", "UTC", time(8, 0))
    noon = START + timedelta(hours=12)
    queue_due(engine, settings, now=noon)
    second = endpoint_store.add_endpoint(
        engine, first.subscriber_id, EndpointKind.SLACK_CHANNEL, "C01", now=noon
    )
    assert [lk.endpoint_id for lk in to_look_at(engine, now=noon)] == [second.id]
    queue_due(engine, settings, now=noon)
    assert _queued(engine) == {(first.id, noon.date()), (second.id, noon.date())}
    assert _subscriber(engine, first).endpoints[1].id == second.id


def test_the_due_buckets_are_those_of_the_endpoints_to_look_at(
    tmp_path: Path, engine: Engine
) -> None:
    """Which planning buckets have work is what to_look_at says, bucket by bucket; after
    a tick has handled everything, no bucket has."""
    for n in range(7):
        _add(engine, f"r{n}", "UTC", time(6, 0))
    now = START + timedelta(hours=7)
    for n_buckets in (1, 2, 4, 8):
        expected = {lk.subscriber_id % n_buckets for lk in to_look_at(engine, now=now)}
        assert due_buckets(engine, now=now, n_buckets=n_buckets) == expected
    assert len(expected) > 1
    queue_due(engine, make_settings(tmp_path), now=now)
    assert due_buckets(engine, now=now, n_buckets=4) == set()

"""Subscribers kept between ticks: every write is seen, nothing unchanged is rebuilt."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine

from alertbot.model import EndpointKind, Frequency, Profile, Subscriber
from alertbot.store import endpoints as endpoint_store
from alertbot.store import profiles as profile_store
from alertbot.store import subscribers as subs
from alertbot.store.due import look_again
from alertbot.store.kept import KeptSubscribers

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

Write = Callable[[Engine, Subscriber], object]


def _endpoint(s: Subscriber) -> int:
    return s.endpoints[0].id


# Every function of the store that changes what a Subscriber is made of.
WRITES: dict[str, Write] = {
    "update_subscriber": lambda e, s: subs.update_subscriber(
        e,
        s.id,
        now=NOW,
        timezone="Asia/Tokyo",
        send_time=time(6, 15),
        frequency=Frequency.WEEKLY,
        weekly_day=3,
        min_score=0.5,
    ),
    "update_subscriber (learning)": lambda e, s: subs.update_subscriber(
        e, s.id, now=NOW, learning=False
    ),
    "update_subscriber (pause)": lambda e, s: subs.update_subscriber(
        e, s.id, now=NOW, active=False
    ),
    "set_profile": lambda e, s: profile_store.set_profile(
        e, s.id, Profile(("graph*",), ("survey",), 1.0, 5), now=NOW
    ),
    "add_interest": lambda e, s: profile_store.add_interest(e, s.id, '"state space"', now=NOW),
    "add_exclusion": lambda e, s: profile_store.add_exclusion(e, s.id, "benchmark", now=NOW),
    "remove_interest": lambda e, s: profile_store.remove_interest(e, s.id, 1, now=NOW),
    "remove_exclusion": lambda e, s: profile_store.remove_exclusion(e, s.id, 1, now=NOW),
    "replace_query": lambda e, s: profile_store.replace_query(
        e, s.id, "interest", 2, "llm*", now=NOW
    ),
    "clear_profile": lambda e, s: profile_store.clear_profile(e, s.id, now=NOW),
    "add_endpoint": lambda e, s: endpoint_store.add_endpoint(
        e, s.id, EndpointKind.SLACK_USER, "U123", now=NOW, slack_team_id="T1"
    ),
    "set_endpoint_active": lambda e, s: endpoint_store.set_endpoint_active(
        e, _endpoint(s), False, reason="bounced"
    ),
    "set_dm_channel": lambda e, s: endpoint_store.set_dm_channel(e, _endpoint(s), "D42"),
    "confirm_endpoint": lambda e, s: endpoint_store.confirm_endpoint(e, _endpoint(s)),
    "remove_endpoint": lambda e, s: endpoint_store.remove_endpoint(e, _endpoint(s)),
}
# The functions that write nothing a Subscriber is made of (or make a new one).
OTHERS = {
    "create_subscriber", "get_subscriber", "find_subscriber", "find_by_slack", "versions",
    "versioned_subscribers", "list_subscribers", "count_subscribers", "delete_subscriber",
    "get_endpoint",
}  # fmt: skip
# What the profile and endpoint writes are built of, inside their transaction: each of
# those writes is in WRITES, and each gives the subscriber its new version.
PRIMITIVES = {"new_version", "one", "touch", "write_queries", "endpoint_from"}


def _reader(engine: Engine, name: str = "Ada") -> Subscriber:
    s = subs.create_subscriber(
        engine,
        name=name,
        now=NOW,
        profile=Profile(("diffusion", "agent*"), ("survey",), 0.0, 20),
    )
    endpoint = endpoint_store.add_endpoint(
        engine, s.id, EndpointKind.EMAIL, f"{name}@example.org", now=NOW, confirmed=False
    )
    endpoint_store.set_endpoint_active(engine, endpoint.id, False, reason="not confirmed yet")
    found = subs.get_subscriber(engine, s.id)
    assert found is not None
    return found


def test_every_public_function_of_the_store_is_known_to_write_or_not() -> None:
    """A new function in the subscriber store (its subscribers, profiles and endpoints)
    must be put in one list or the other, so a write that forgets the revision cannot
    slip past this file."""
    public = {
        name
        for module in (subs, profile_store, endpoint_store)
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and fn.__module__ == module.__name__
    }
    assert public == {w.split(" ")[0] for w in WRITES} | OTHERS | PRIMITIVES


@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
def test_a_kept_subscriber_is_reloaded_after_each_write(engine: Engine, write: str) -> None:
    """Whatever was written, the keeper then hands out the subscriber as stored."""
    reader = _reader(engine)
    other = _reader(engine, "Bob")
    kept = KeptSubscribers()
    before = kept.get(engine, [reader.id, other.id])
    assert before[reader.id] == reader
    WRITES[write](engine, reader)
    stored = subs.get_subscriber(engine, reader.id)
    assert stored is not None
    assert stored != reader  # the write changed something
    reloaded = kept.reloaded
    after = kept.get(engine, [reader.id, other.id])
    assert after[reader.id] == stored
    assert after[other.id] is before[other.id]  # the one not written is not rebuilt
    assert kept.reloaded == reloaded + 1


def test_an_unchanged_subscriber_is_not_rebuilt_and_the_ticks_own_writes_change_nothing(
    engine: Engine,
) -> None:
    readers = [_reader(engine, f"r{i}") for i in range(5)]
    ids = [r.id for r in readers]
    kept = KeptSubscribers()
    first = kept.get(engine, ids)
    assert kept.reloaded == 5
    # What a tick writes on the endpoints (when to look again, the date queued) is no
    # part of a Subscriber.
    with engine.begin() as conn:
        look_again(
            conn,
            {r.endpoints[0].id: NOW + timedelta(days=1) for r in readers},
            [(r.endpoints[0].id, date(2026, 11, 23)) for r in readers],
        )
    second = kept.get(engine, ids)
    assert kept.reloaded == 5
    assert all(second[i] is first[i] for i in ids)
    assert list(second.values()) == [subs.get_subscriber(engine, i) for i in ids]


def test_a_deleted_subscriber_is_dropped_and_unknown_ids_are_absent(engine: Engine) -> None:
    ada, bob = _reader(engine), _reader(engine, "Bob")
    kept = KeptSubscribers()
    kept.get(engine, [ada.id, bob.id])
    assert subs.delete_subscriber(engine, ada.id)
    assert kept.get(engine, [ada.id, bob.id, 9999]) == {bob.id: bob}
    assert len(kept) == 1


def test_a_subscriber_deleted_and_its_id_taken_again_is_the_new_one(engine: Engine) -> None:
    """SQLite hands a deleted subscriber's id (the highest) to the next one: even when no
    tick saw the first one gone, the keeper must not serve it for the new one."""
    ada = _reader(engine)
    kept = KeptSubscribers()
    kept.get(engine, [ada.id])
    subs.delete_subscriber(engine, ada.id)
    new = _reader(engine, "Eve")
    assert kept.get(engine, [new.id]) == {new.id: new}

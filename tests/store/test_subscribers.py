"""The subscriber store: profiles, endpoints and feedback, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from sqlalchemy import Engine

from alertbot.model import EndpointKind, Frequency, Profile
from alertbot.store import endpoints as endpoint_store
from alertbot.store import feedback
from alertbot.store import profiles as profile_store
from alertbot.store import subscribers as subs

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_it_round_trips_a_subscriber_with_profile_and_endpoints(engine: Engine) -> None:
    """What is stored is what is read back, profile order included."""
    profile = Profile(
        interests=("graph*", '"state space model"^2'),
        exclusions=("survey",),
        min_score=1.5,
        max_papers=7,
    )
    created = subs.create_subscriber(
        engine,
        name="Ada",
        now=NOW,
        profile=profile,
        timezone="Europe/Paris",
        send_time=time(7, 30),
        frequency=Frequency.WEEKLY,
        weekly_day=4,
    )
    endpoint_store.add_endpoint(engine, created.id, EndpointKind.EMAIL, "ada@example.org", now=NOW)
    loaded = subs.get_subscriber(engine, created.id)
    assert loaded is not None
    assert loaded.profile == profile
    assert (loaded.timezone, loaded.send_time, loaded.frequency, loaded.weekly_day) == (
        "Europe/Paris",
        time(7, 30),
        Frequency.WEEKLY,
        4,
    )
    assert [(e.kind, e.address) for e in loaded.endpoints] == [
        (EndpointKind.EMAIL, "ada@example.org")
    ]


def test_it_numbers_interests_from_one_and_removes_by_number(engine: Engine) -> None:
    """remove_interest(2) removes the second interest the user sees; the rest keep order."""
    s = subs.create_subscriber(engine, name="Bo", now=NOW)
    for q in ("alpha", "beta", "gamma"):
        profile_store.add_interest(engine, s.id, q, now=NOW)
    assert profile_store.remove_interest(engine, s.id, 2, now=NOW) == "beta"
    after = subs.get_subscriber(engine, s.id)
    assert after is not None
    assert after.profile.interests == ("alpha", "gamma")
    profile_store.add_interest(engine, s.id, "delta", now=NOW)
    again = subs.get_subscriber(engine, s.id)
    assert again is not None
    assert again.profile.interests == ("alpha", "gamma", "delta")


@pytest.mark.parametrize("position", [0, 4, -1])
def test_it_refuses_to_remove_an_interest_that_does_not_exist(
    engine: Engine, position: int
) -> None:
    """A wrong number is an IndexError that says how many there are; nothing changes."""
    s = subs.create_subscriber(
        engine, name="Cy", now=NOW, profile=Profile(interests=("a", "b", "c"))
    )
    with pytest.raises(IndexError, match="you have 3"):
        profile_store.remove_interest(engine, s.id, position, now=NOW)
    after = subs.get_subscriber(engine, s.id)
    assert after is not None
    assert after.profile.interests == ("a", "b", "c")


def test_it_keys_slack_subscribers_by_team_and_user(engine: Engine) -> None:
    """The same user id in two workspaces is two different subscribers."""
    one = subs.create_subscriber(engine, name="u1", now=NOW, slack_team_id="T1", slack_user_id="U1")
    two = subs.create_subscriber(engine, name="u1", now=NOW, slack_team_id="T2", slack_user_id="U1")
    found_one = subs.find_by_slack(engine, "T1", "U1")
    found_two = subs.find_by_slack(engine, "T2", "U1")
    assert found_one is not None
    assert found_two is not None
    assert (found_one.id, found_two.id) == (one.id, two.id)
    assert subs.find_by_slack(engine, "T3", "U1") is None


def test_it_adds_an_endpoint_once(engine: Engine) -> None:
    """Adding the same address twice returns the first endpoint instead of a duplicate."""
    s = subs.create_subscriber(engine, name="Di", now=NOW)
    first = endpoint_store.add_endpoint(engine, s.id, EndpointKind.EMAIL, "di@example.org", now=NOW)
    second = endpoint_store.add_endpoint(
        engine, s.id, EndpointKind.EMAIL, "di@example.org", now=NOW
    )
    assert first.id == second.id
    loaded = subs.get_subscriber(engine, s.id)
    assert loaded is not None
    assert len(loaded.endpoints) == 1


def test_it_disables_an_endpoint_with_a_reason_and_reenables_it(engine: Engine) -> None:
    """A disabled endpoint keeps the reason until it is enabled again."""
    s = subs.create_subscriber(engine, name="Ed", now=NOW)
    ep = endpoint_store.add_endpoint(
        engine, s.id, EndpointKind.SLACK_CHANNEL, "C123", now=NOW, slack_team_id="T1"
    )
    endpoint_store.set_endpoint_active(engine, ep.id, False, reason="channel_not_found")
    off = endpoint_store.get_endpoint(engine, ep.id)
    assert off is not None
    assert (off.active, off.disabled_reason) == (False, "channel_not_found")
    endpoint_store.set_endpoint_active(engine, ep.id, True)
    on = endpoint_store.get_endpoint(engine, ep.id)
    assert on is not None
    assert (on.active, on.disabled_reason) == (True, None)


def test_it_updates_feedback_in_place(engine: Engine) -> None:
    """A second verdict on the same paper replaces the first."""
    s = subs.create_subscriber(engine, name="Fa", now=NOW)
    feedback.record_feedback(engine, s.id, "2602.00001", "useful", now=NOW)
    feedback.record_feedback(engine, s.id, "2602.00001", "not_useful", now=NOW)
    assert feedback.get_feedback(engine, s.id) == {"2602.00001": "not_useful"}


def test_it_deletes_a_subscriber_with_everything_attached(engine: Engine) -> None:
    """Deleting leaves no profile rows or endpoints behind."""
    s = subs.create_subscriber(engine, name="Gu", now=NOW, profile=Profile(interests=("x",)))
    ep = endpoint_store.add_endpoint(engine, s.id, EndpointKind.EMAIL, "gu@example.org", now=NOW)
    feedback.record_feedback(engine, s.id, "p1", "useful", now=NOW)
    assert subs.delete_subscriber(engine, s.id)
    assert subs.get_subscriber(engine, s.id) is None
    assert endpoint_store.get_endpoint(engine, ep.id) is None
    assert not subs.delete_subscriber(engine, s.id)


def test_it_finds_by_id_or_name_and_updates_fields(engine: Engine) -> None:
    """find_subscriber accepts the id or the exact name; update changes only what is given."""
    s = subs.create_subscriber(engine, name="Hal", now=NOW)
    by_id = subs.find_subscriber(engine, str(s.id))
    by_name = subs.find_subscriber(engine, "Hal")
    assert by_id == by_name
    changed = subs.update_subscriber(engine, s.id, now=NOW, active=False, send_time=time(6, 5))
    assert (changed.active, changed.send_time, changed.name) == (False, time(6, 5), "Hal")
    assert subs.update_subscriber(engine, s.id, now=NOW) == changed  # None keeps everything
    with pytest.raises(subs.NotFound):
        subs.update_subscriber(engine, 9999, now=NOW, active=True)

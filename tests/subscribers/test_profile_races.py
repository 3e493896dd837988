"""Two adds to one profile at once, each made from a copy of the subscriber read before
either (two tabs of the account page, the page and ``/subscribe``): the cap and the
duplicate check hold for the two together. Found by an audit of read-then-write
transactions: each add checked its own stale copy, so two adds could pass a cap of one
more, or add one interest twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.model import Profile, Subscriber
from alertbot.store import connect
from alertbot.store import subscribers as store
from alertbot.subscribers import AlreadyThere, SubscriberService, TooMany
from tests.helpers.races import Rival, starts

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CAPS = Settings(subscribe={"max_interests": 2, "max_exclusions": 1})


def _adds_at_once(
    db_url: str, engine: Engine, first: str, second: str
) -> tuple[Subscriber, object]:
    """``first`` added on ``engine`` while another process adds ``second``, both from
    the copy of the subscriber read before either; the result of each."""
    service = SubscriberService(engine, CAPS, now=lambda: NOW)
    ada = store.create_subscriber(engine, name="Ada", now=NOW, profile=Profile(interests=("a",)))
    other = connect(db_url)
    rival_side = SubscriberService(other, CAPS, now=lambda: NOW)

    def rival_adds() -> object:
        try:
            return rival_side.add_interest(ada, second)
        except (TooMany, AlreadyThere) as exc:
            return exc

    rival = Rival(rival_adds)
    try:
        with rival.at(engine, starts("INSERT INTO profile_queries")):
            mine, _number = service.add_interest(ada, first)
        theirs = rival.result()
    finally:
        other.dispose()
    return mine, theirs


def test_two_adds_at_once_do_not_pass_the_cap_together(db_url: str, engine: Engine) -> None:
    mine, theirs = _adds_at_once(db_url, engine, "b", "c")
    assert isinstance(theirs, TooMany)
    loaded = store.get_subscriber(engine, mine.id)
    assert loaded is not None
    assert loaded.profile.interests == ("a", "b")


def test_one_interest_added_twice_at_once_is_there_once(db_url: str, engine: Engine) -> None:
    mine, theirs = _adds_at_once(db_url, engine, "b", "b")
    assert isinstance(theirs, AlreadyThere)
    assert theirs.position == 2
    loaded = store.get_subscriber(engine, mine.id)
    assert loaded is not None
    assert loaded.profile.interests == ("a", "b")


def test_the_number_returned_is_where_the_interest_went(engine: Engine) -> None:
    """Numbered from the list as stored, not from the caller's copy."""
    service = SubscriberService(engine, CAPS, now=lambda: NOW)
    ada = store.create_subscriber(engine, name="Ada", now=NOW)
    service.add_interest(ada, "a")
    updated, number = service.add_interest(ada, "b")  # ``ada`` still shows no interests
    assert (updated.profile.interests, number) == (("a", "b"), 2)
    with pytest.raises(TooMany):
        service.add_interest(ada, "c")

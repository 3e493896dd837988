"""Two addresses added at once from one copy of the subscriber read before either (two
tabs of the account page, the page and ``/subscribe``): the cap on addresses holds for
the two together, and an address added meanwhile is returned, not turned off again.
Found by the audit of read-then-write transactions: each add counted its own stale copy.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.model import Endpoint, EndpointKind, Subscriber
from alertbot.store import connect
from alertbot.store import subscribers as store
from alertbot.subscribers import MAX_EMAILS, SubscriberService, TooMany
from tests.helpers.races import Rival, starts

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _one_place_left(engine: Engine) -> tuple[SubscriberService, Subscriber]:
    service = SubscriberService(engine, Settings(), now=lambda: NOW)
    ada = store.create_subscriber(engine, name="Ada", now=NOW)
    for n in range(MAX_EMAILS - 1):
        service.add_email(ada, f"a{n}@example.org")
    kept = store.get_subscriber(engine, ada.id)
    assert kept is not None
    return service, kept


def _add_while_another_adds(
    db_url: str, engine: Engine, mine: str, theirs: str
) -> tuple[Endpoint | TooMany, Endpoint | TooMany, Subscriber]:
    """``mine`` added on ``engine`` while another process adds ``theirs``, both from the
    same copy of a subscriber with one place left; each outcome and the stored state."""
    service, ada = _one_place_left(engine)
    other = connect(db_url)
    rival_side = SubscriberService(other, Settings(), now=lambda: NOW)

    def rival_adds() -> Endpoint | TooMany:
        try:
            return rival_side.add_email(ada, theirs)
        except TooMany as exc:
            return exc

    rival = Rival(rival_adds)
    try:
        with rival.at(engine, starts("INSERT INTO endpoints")):
            try:
                outcome: Endpoint | TooMany = service.add_email(ada, mine)
            except TooMany as exc:
                outcome = exc
        rival_outcome = rival.result()
    finally:
        other.dispose()
    stored = store.get_subscriber(engine, ada.id)
    assert stored is not None
    return outcome, rival_outcome, stored


def _emails(sub: Subscriber) -> list[str]:
    return sorted(e.address for e in sub.endpoints if e.kind == EndpointKind.EMAIL)


def test_two_addresses_added_at_once_do_not_pass_the_cap_together(
    db_url: str, engine: Engine
) -> None:
    mine, theirs, stored = _add_while_another_adds(
        db_url, engine, "mine@example.org", "theirs@example.org"
    )
    assert len(_emails(stored)) == MAX_EMAILS
    # Exactly one of the two got the last place; the other was told there is none.
    outcomes = sorted(type(o).__name__ for o in (mine, theirs))
    assert outcomes == ["Endpoint", "TooMany"]


def test_one_address_added_twice_at_once_is_stored_once_and_left_waiting(
    db_url: str, engine: Engine
) -> None:
    mine, theirs, stored = _add_while_another_adds(
        db_url, engine, "Same@example.org", "same@example.org"
    )
    assert isinstance(mine, Endpoint)
    assert isinstance(theirs, Endpoint)
    assert mine.id == theirs.id
    assert [a.lower() for a in _emails(stored)].count("same@example.org") == 1


def test_an_address_stored_since_the_copy_was_read_is_returned_as_it_is(
    engine: Engine,
) -> None:
    """A confirmed address added since the caller's copy: returned, still on; adding it
    again does not send it back to waiting for confirmation."""
    service, ada = _one_place_left(engine)
    fresh = store.get_subscriber(engine, ada.id)
    assert fresh is not None
    added = service.add_email(fresh, "c@example.org")
    service.confirm_email(added.id)
    again = service.add_email(ada, "C@example.org")  # ``ada`` predates the add
    assert again.id == added.id
    assert (again.confirmed, again.active) == (True, True)
    with pytest.raises(TooMany):  # the copy shows two addresses; three are stored
        service.add_email(ada, "d@example.org")

"""Two web sign-ups for one address at once (a double click, two tabs) make one
subscriber: the second is told the address has an account, with its owner for a
sign-in link. Found by an audit of read-then-write transactions: both had checked the
address free before either wrote, and the reader got two digests a day."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.store import accounts, connect
from alertbot.subscribers import AddressTaken, SubscriberService
from tests.helpers.races import Rival, starts

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_two_sign_ups_for_one_address_at_once_make_one_subscriber(
    db_url: str, engine: Engine
) -> None:
    service = SubscriberService(engine, Settings(), now=lambda: NOW)
    other = connect(db_url)  # the second request's worker
    second = SubscriberService(other, Settings(), now=lambda: NOW)

    def sign_up(on: SubscriberService) -> object:
        return on.sign_up("ada@example.org", "diffusion", timezone="UTC", send_time=time(8))

    rival = Rival(lambda: sign_up(second))
    try:
        with rival.at(engine, starts("INSERT INTO subscribers")):
            first, endpoint = service.sign_up(
                "ada@example.org", "diffusion", timezone="UTC", send_time=time(8)
            )
        with pytest.raises(AddressTaken) as taken:
            rival.result()
    finally:
        other.dispose()
    assert taken.value.owner == (first.id, endpoint.id)
    assert [s.id for s in service.list()] == [first.id]
    assert accounts.email_owner(engine, "ada@example.org") == (first.id, endpoint.id)


def test_a_sign_up_for_a_known_address_is_refused_with_its_owner(engine: Engine) -> None:
    service = SubscriberService(engine, Settings(), now=lambda: NOW)
    sub, endpoint = service.sign_up("ada@example.org", "graphs", timezone="UTC", send_time=time(8))
    with pytest.raises(AddressTaken, match="has an account already") as taken:
        service.sign_up("ADA@example.org", "diffusion", timezone="UTC", send_time=time(8))
    assert taken.value.owner == (sub.id, endpoint.id)
    assert len(service.list()) == 1

"""The web accounts' store: who owns an address, single-use sign-in links, and the
session generation, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from alertbot.model import EndpointKind
from alertbot.store import accounts
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_it_finds_the_owner_of_an_address_in_any_case(engine: Engine) -> None:
    """Addresses compare case-insensitively; a Slack id is no email owner."""
    sub = store.create_subscriber(engine, name="ada", now=NOW)
    email = endpoint_store.add_endpoint(
        engine, sub.id, EndpointKind.EMAIL, "Ada@Example.org", now=NOW
    )
    endpoint_store.add_endpoint(
        engine, sub.id, EndpointKind.SLACK_USER, "U1", now=NOW, slack_team_id="T1"
    )
    assert accounts.email_owner(engine, "ada@example.ORG") == (sub.id, email.id)
    assert accounts.email_owner(engine, "U1") is None
    assert accounts.email_owner(engine, "bob@example.org") is None


def test_a_sign_in_link_is_used_once(engine: Engine) -> None:
    """The first use wins; the same id again is refused."""
    assert accounts.signin_link_used(engine, "link-1") is False
    assert accounts.use_signin_link(engine, "link-1", now=NOW) is True
    assert accounts.signin_link_used(engine, "link-1") is True
    assert accounts.use_signin_link(engine, "link-1", now=NOW) is False
    assert accounts.use_signin_link(engine, "link-2", now=NOW) is True


class _LaterStepFailed(Exception):
    pass


def test_a_link_spent_in_a_transaction_that_rolls_back_stays_unspent(engine: Engine) -> None:
    """Spent inside a caller's transaction (linking a Slack user spends the code, then
    writes the link), it is part of it: if a later step fails, the code can be used
    again. On SQLite the savepoint began a transaction of its own when nothing had been
    written yet, and its release committed the spent code alone (found by an audit)."""
    spent: list[bool] = []

    def spend_then_fail() -> None:
        with engine.begin() as conn:
            assert accounts.email_owner(conn, "ada@example.org") is None  # a read first
            spent.append(accounts.use_signin_link(conn, "link-1", now=NOW))
            raise _LaterStepFailed

    with pytest.raises(_LaterStepFailed):
        spend_then_fail()
    assert spent == [True]
    assert accounts.signin_link_used(engine, "link-1") is False
    assert accounts.use_signin_link(engine, "link-1", now=NOW) is True


def test_used_links_past_their_life_are_forgotten(engine: Engine) -> None:
    """Cleanup drops the ids older than the cut-off, and only those."""
    accounts.use_signin_link(engine, "old", now=NOW - timedelta(hours=1))
    accounts.use_signin_link(engine, "new", now=NOW)
    assert accounts.forget_used_links(engine, before=NOW - timedelta(minutes=30)) == 1
    assert accounts.use_signin_link(engine, "new", now=NOW) is False


def test_ending_sessions_moves_the_generation_on(engine: Engine) -> None:
    """0 at first, then one more at each sign-out; per subscriber."""
    ada = store.create_subscriber(engine, name="ada", now=NOW)
    bob = store.create_subscriber(engine, name="bob", now=NOW)
    assert accounts.session_generation(engine, ada.id) == 0
    assert accounts.end_sessions(engine, ada.id) == 1
    assert accounts.end_sessions(engine, ada.id) == 2
    assert accounts.session_generation(engine, ada.id) == 2
    assert accounts.session_generation(engine, bob.id) == 0


def test_deleting_a_subscriber_forgets_their_generation(engine: Engine) -> None:
    """The row goes with the subscriber (ON DELETE CASCADE)."""
    ada = store.create_subscriber(engine, name="ada", now=NOW)
    accounts.end_sessions(engine, ada.id)
    store.delete_subscriber(engine, ada.id)
    assert accounts.session_generation(engine, ada.id) == 0

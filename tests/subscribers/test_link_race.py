"""Linking a Slack user to a web account while that Slack user types ``/subscribe``.

The link replaces the empty subscriber a first Slack command made; an interest that
subscriber gains meanwhile must not go with it, silently. Found by an audit of
read-then-write transactions: the emptiness check read outside the write, on SQLite.
PostgreSQL is left out here: there the link serialises only with other links (see
``AccountsMixin.link_slack``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.store import accounts, connect
from alertbot.store import subscribers as store
from alertbot.subscribers import NewSubscriber, SubscriberService, parse
from alertbot.subscribers.refusals import Refused
from tests.helpers.races import Rival

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_an_interest_added_while_the_link_checks_is_never_deleted_with_it(
    sqlite_url: str, sqlite_engine: Engine
) -> None:
    service = SubscriberService(sqlite_engine, Settings(), now=lambda: NOW)
    web = service.create(parse({"name": "Ada", "email": "ada@example.org"}, NewSubscriber))
    slack, _ = service.slack_subscriber("T1", "U1", name="ada", timezone=None)
    assert not slack.profile.interests
    other_engine = connect(sqlite_url)  # the Slack app's process
    slack_side = SubscriberService(other_engine, Settings(), now=lambda: NOW)

    def subscribe_meanwhile() -> object:
        try:
            return slack_side.add_interest(slack, "graph neural networks")
        except (Refused, LookupError) as exc:  # told, not lost: the subscriber is gone
            return exc

    # Once the link has checked the Slack user's subscriber (and found it empty), just
    # before it spends the code and writes.
    rival = Rival(subscribe_meanwhile)
    try:
        with rival.at(sqlite_engine, lambda statement: "used_signin_links" in statement):
            linked = service.link_slack(web.id, "T1", "U1", link_id="code-1")
        outcome = rival.result()
    finally:
        other_engine.dispose()
    assert linked.slack_user_id == "U1"
    if not isinstance(outcome, Exception):  # the interest went in: it must still exist
        owner = store.find_by_slack(sqlite_engine, "T1", "U1")
        assert owner is not None
        assert "graph neural networks" in owner.profile.interests
    assert accounts.signin_link_used(sqlite_engine, "code-1")

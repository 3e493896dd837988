"""Writes that decide from a read, overtaken by another process between the two.

On SQLite the driver begins a transaction only at its first INSERT, UPDATE or DELETE,
so a read before that holds no lock, and another process can commit between the read
and the write the read decided. Each test here lets a rival, on its own engine as
another process has, make its call at that moment; the rival is waited for only
briefly, so a call that holds its lock there (the rival then waits for it) passes as
well as one whose rival's change it sees afterwards. It fails only if what the rival
committed is lost or taken for the tested call's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select

from alertbot.model import Endpoint, EndpointKind, Match, OutboxState, Profile
from alertbot.store import connect, enqueue
from alertbot.store import endpoints as endpoint_store
from alertbot.store import profiles as profile_store
from alertbot.store import subscribers as subs
from alertbot.store.schema import outbox
from alertbot.store.subscribers import EXCLUSION, INTEREST
from tests.helpers.races import Rival, reads, starts

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DAY = date(2026, 12, 1)


@pytest.fixture
def other(db_url: str, engine: Engine) -> Iterator[Engine]:
    """Another process's engine on the tested store."""
    rival = connect(db_url)
    yield rival
    rival.dispose()


def _remove_first_interest(db: Engine, subscriber_id: int) -> object:
    return profile_store.remove_interest(db, subscriber_id, 1, now=NOW)


def _remove_first_exclusion(db: Engine, subscriber_id: int) -> object:
    return profile_store.remove_exclusion(db, subscriber_id, 1, now=NOW)


def _replace_first_interest(db: Engine, subscriber_id: int) -> object:
    return profile_store.replace_query(db, subscriber_id, INTEREST, 1, "alpha*", now=NOW)


@pytest.mark.parametrize(
    ("edit", "kind", "after"),
    [
        pytest.param(_remove_first_interest, INTEREST, ("beta", "gamma", "delta"), id="remove"),
        pytest.param(
            _remove_first_exclusion, EXCLUSION, ("beta", "gamma", "delta"), id="remove-exclusion"
        ),
        pytest.param(
            _replace_first_interest,
            INTEREST,
            ("alpha*", "beta", "gamma", "delta"),
            id="replace",
        ),
    ],
)
def test_a_query_added_while_another_edit_of_the_list_is_under_way_is_kept(
    engine: Engine,
    other: Engine,
    edit: Callable[[Engine, int], object],
    kind: str,
    after: tuple[str, ...],
) -> None:
    """A removal or replacement rewrites the whole list it read; a query another process
    added after that read (a double-submitted form, Slack and the web at once) must
    still be there after both, not silently dropped by the rewrite."""
    queries = ("alpha", "beta", "gamma")
    profile = Profile(interests=queries) if kind == INTEREST else Profile(exclusions=queries)
    s = subs.create_subscriber(engine, name="Ada", now=NOW, profile=profile)
    add = profile_store.add_interest if kind == INTEREST else profile_store.add_exclusion
    rival = Rival(lambda: add(other, s.id, "delta", now=NOW))
    with rival.at(engine, starts("DELETE FROM profile_queries")):
        edit(engine, s.id)
    rival.result()
    loaded = subs.get_subscriber(engine, s.id)
    assert loaded is not None
    assert (loaded.profile.interests if kind == INTEREST else loaded.profile.exclusions) == after


def test_two_adds_of_one_address_at_once_both_return_the_one_endpoint(
    engine: Engine, other: Engine
) -> None:
    """Two adds of the same address (a double-submitted "add email") that both looked and
    found none: the second must return the endpoint the first added, as an add after it
    would, not fail on the unique key as "no subscriber"."""
    s = subs.create_subscriber(engine, name="Ada", now=NOW)

    def add(db: Engine) -> Endpoint:
        return endpoint_store.add_endpoint(
            db, s.id, EndpointKind.EMAIL, "ada@example.org", now=NOW, confirmed=False
        )

    rival = Rival(lambda: add(other))
    with rival.at(engine, reads("endpoints"), after=True):
        mine = add(engine)
    theirs = rival.result()
    assert mine.id == theirs.id
    loaded = subs.get_subscriber(engine, s.id)
    assert loaded is not None
    assert [e.id for e in loaded.endpoints] == [mine.id]


def test_a_planner_overtaken_by_another_counts_only_the_digests_it_queued(
    engine: Engine, other: Engine
) -> None:
    """Two planners queue overlapping digests; the one whose insert comes second skips
    what the other queued, and each must say it queued only its own rows (the
    ``queued`` count and metrics add them up), together every row in the outbox."""
    s = subs.create_subscriber(engine, name="Ada", now=NOW)
    first, second = (
        endpoint_store.add_endpoint(engine, s.id, EndpointKind.EMAIL, address, now=NOW)
        for address in ("ada@example.org", "ada@example.net")
    )

    def digest(endpoint: Endpoint) -> enqueue.NewRow:
        return enqueue.NewRow(
            s.id, endpoint.id, DAY, OutboxState.PENDING, (Match("2612.00001", 1.0, ()),)
        )

    rival = Rival(lambda: enqueue.insert_many(other, [digest(first)], now=NOW))
    with rival.at(engine, starts("INSERT INTO outbox")):
        mine = enqueue.insert_many(engine, [digest(first), digest(second)], now=NOW)
    theirs = rival.result()
    with engine.connect() as conn:
        queued = {(r.endpoint_id, r.digest_date) for r in conn.execute(select(outbox))}
    assert mine.isdisjoint(theirs)
    assert mine | theirs == queued == {(first.id, DAY), (second.id, DAY)}

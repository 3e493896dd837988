"""like: interests through the subscriber service (/subscribe, the CLI, the web pages):
added like any interest, refused at their column when malformed, never an exclusion."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.store import subscribers as store
from alertbot.subscribers import QueryRefused, SubscriberService

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def service(sqlite_engine: Engine) -> SubscriberService:
    return SubscriberService(sqlite_engine, Settings(), now=lambda: NOW)


def test_a_like_interest_is_added_as_typed(service: SubscriberService) -> None:
    """like:ID and like:"title" are ordinary interests of the stored profile."""
    sub = store.create_subscriber(service.engine, name="Ada", now=NOW)
    sub, _ = service.add_interest(sub, "like:2405.12345")
    sub, _ = service.add_interest(sub, 'like:"Speculative decoding at scale"')
    assert sub.profile.interests == ("like:2405.12345", 'like:"Speculative decoding at scale"')


@pytest.mark.parametrize(
    ("kind", "query", "column"),
    [("interest", "like:foo", 6), ("interest", "like:2405.12345 gpu", 17),
     ("exclusion", "like:2405.12345", 1)],
)  # fmt: skip
def test_a_bad_like_is_refused_with_its_column(
    service: SubscriberService, kind: str, query: str, column: int
) -> None:
    """A malformed like:, or one given as an exclusion, is QueryRefused at its column."""
    sub = store.create_subscriber(service.engine, name="Bea", now=NOW)
    add = service.add_interest if kind == "interest" else service.add_exclusion
    with pytest.raises(QueryRefused) as refused:
        add(sub, query)
    assert refused.value.error.column == column

"""Fixtures for delivery tests: a stocked store and subscribers on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from alertbot.model import EndpointKind, Paper, Profile, Subscriber
from alertbot.store import endpoints as endpoint_store
from alertbot.store import papers as paper_store
from alertbot.store import subscribers as subscriber_store
from tests.helpers.delivery import NOW, make_papers


@pytest.fixture
def stock(engine: Engine) -> Callable[..., list[Paper]]:
    """Store papers first seen an hour before NOW."""

    def add(papers: Sequence[Paper] | None = None, *, at: datetime | None = None) -> list[Paper]:
        chosen = list(papers) if papers is not None else make_papers()
        paper_store.upsert_papers(engine, chosen, source="test", now=at or NOW - timedelta(hours=1))
        return chosen

    return add


@pytest.fixture
def subscribe(engine: Engine) -> Callable[..., Subscriber]:
    """Create a subscriber with one endpoint; returns it with the endpoint loaded."""

    def add(
        name: str,
        address: str,
        *,
        kind: EndpointKind = EndpointKind.EMAIL,
        interests: Sequence[str] = ("diffusion",),
        **kwargs: Any,
    ) -> Subscriber:
        sub = subscriber_store.create_subscriber(
            engine,
            name=name,
            now=NOW - timedelta(days=3),
            profile=Profile(interests=tuple(interests)),
            send_time=time(8, 0),
            **kwargs,
        )
        endpoint_store.add_endpoint(engine, sub.id, kind, address, now=NOW - timedelta(days=3))
        found = subscriber_store.get_subscriber(engine, sub.id)
        assert found is not None
        return found

    return add

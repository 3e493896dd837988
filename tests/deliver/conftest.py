"""Fixtures for delivery tests: a stocked store, settings pointing at local servers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from alertbot.config import DeliverySettings, Settings, SmtpSettings
from alertbot.model import EndpointKind, Paper, Profile, Subscriber
from alertbot.store import papers as paper_store
from alertbot.store import subscribers as subscriber_store

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday, after the 08:00 send time

TOPICS = (
    ("Diffusion models for protein design", "We train a diffusion model on protein backbones."),
    ("Sparse attention for long documents", "A sparse attention scheme scales transformers."),
    ("Graph neural networks for molecules", "Message passing graph neural networks on molecules."),
    ("Diffusion policies for robot control", "Robots learn control with diffusion policies."),
    ("Reinforcement learning from feedback", "Reinforcement learning with human feedback."),
)


def make_papers(n: int = 5, *, prefix: str = "2603", extra: str = "") -> list[Paper]:
    """``n`` distinct arXiv papers cycling through a few topics."""
    result = []
    for i in range(n):
        title, abstract = TOPICS[i % len(TOPICS)]
        result.append(
            Paper(
                id=f"{prefix}.{i:05d}",
                title=f"{title} {extra}{i}".strip(),
                abstract=abstract,
                source_format="lines",
                authors=("Ada Lovelace", "Alan Turing"),
                published=date(2026, 3, 1),
                arxiv_id=f"{prefix}.{i:05d}",
            )
        )
    return result


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """CLI commands point alertbot's log handler at the runner's stderr; undo that after."""
    logger = logging.getLogger("alertbot")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


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
        subscriber_store.add_endpoint(engine, sub.id, kind, address, now=NOW - timedelta(days=3))
        found = subscriber_store.get_subscriber(engine, sub.id)
        assert found is not None
        return found

    return add


def make_settings(tmp_path: Path, **smtp: Any) -> Settings:
    """Settings with no backoff (retries are immediate) and SMTP as given."""
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789",
        web={"public_url": "https://alertbot.example.org"},
        smtp=SmtpSettings(
            from_address="alertbot <digest@alertbot.example.org>",
            timeout_seconds=smtp.pop("timeout_seconds", 5.0),
            **smtp,
        ),
        delivery=DeliverySettings(backoff_base_seconds=0, max_attempts=4),
    )

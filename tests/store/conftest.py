"""Fixtures of the store tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from alertbot.store import connect


@pytest.fixture
def admin(postgres_url: str) -> Iterator[Engine]:
    """A second PostgreSQL engine, in autocommit, for acting on the tested connections."""
    engine = connect(postgres_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()

"""PostgreSQL connections are pinged when they come out of the pool after sitting idle,
not on every checkout (the send loop checks one out twice per message)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from alertbot.store import connect
from tests.helpers.postgres import terminate

pytestmark = pytest.mark.postgres


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_it_replaces_an_idle_connection_the_server_dropped(
    postgres_url: str, admin: Engine
) -> None:
    """A pooled connection the server ended while it sat idle is found dead by the ping
    at checkout and replaced: the caller's statement runs on a new one."""
    engine = connect(postgres_url, ping_idle_seconds=0)
    try:
        first = _backend_pid(engine)
        terminate(admin, first)
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


def test_it_does_not_ping_a_connection_given_back_just_now(
    postgres_url: str, admin: Engine
) -> None:
    """A connection back in the pool for less than ``ping_idle_seconds`` is handed out
    unpinged: if the server ended it meanwhile the statement fails, and the next
    checkout gets a new connection."""
    engine = connect(postgres_url, ping_idle_seconds=3600)
    try:
        first = _backend_pid(engine)
        terminate(admin, first)
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()

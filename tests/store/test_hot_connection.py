"""The send loop's kept autocommit connection on PostgreSQL (``HotConnection``): one
connection across writes, given back to the pool when idle, replaced after a failure."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from alertbot.store import connect
from alertbot.store.prepared import HotConnection, Prepared
from tests.helpers.postgres import terminate

pytestmark = pytest.mark.postgres

PID = Prepared(text("SELECT pg_backend_pid()"))
IN_TRANSACTION = Prepared(text("SELECT now() = statement_timestamp()"))


def _pid(hot: HotConnection) -> int:
    return int(hot.run(PID, {}).scalar_one())


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = connect(postgres_url, ping_idle_seconds=0)
    yield engine
    engine.dispose()


def test_writes_share_one_connection_each_its_own_transaction(engine: Engine) -> None:
    """Back to back, the writes run on one backend, and each statement is its own
    transaction (autocommit: ``now()``, the transaction's start, is the statement's)."""
    hot = HotConnection(engine, idle_seconds=60)
    try:
        assert _pid(hot) == _pid(hot) == _pid(hot)
        assert hot.run(IN_TRANSACTION, {}).scalar_one() is True
        time.sleep(0.01)
        assert hot.run(IN_TRANSACTION, {}).scalar_one() is True
    finally:
        hot.close()


def test_a_failed_write_closes_it_and_the_next_gets_a_new_connection(
    engine: Engine, admin: Engine
) -> None:
    """The server ends the backend (a restart): the write fails, as it would on any
    connection, and the retry runs on a fresh one instead of the dead one."""
    hot = HotConnection(engine, idle_seconds=60)
    try:
        first = _pid(hot)
        terminate(admin, first)
        with pytest.raises(OperationalError):
            _pid(hot)
        assert _pid(hot) != first
    finally:
        hot.close()


def test_once_idle_it_goes_back_to_the_pool_whose_ping_finds_a_dead_one(
    engine: Engine, admin: Engine
) -> None:
    """Unused past ``idle_seconds`` (between batches), the connection is given back and
    the next write checks one out, pinged: a backend ended meanwhile costs no failure."""
    hot = HotConnection(engine, idle_seconds=0.05)
    try:
        first = _pid(hot)
        time.sleep(0.1)
        terminate(admin, first)
        assert _pid(hot) != first
    finally:
        hot.close()

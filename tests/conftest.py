"""Fixtures every test shares: isolated state, real databases.

Every test runs in its own temporary folder with no ``ALERTBOT_*`` variables from the
machine, so nothing a developer has configured leaks in, and nothing a test writes
leaks out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, text

from alertbot.store import connect, migrate
from tests.helpers.slack import World, build_world
from tests.helpers.stores import SCHEMAS, copied
from tests.servers import SlackStandIn, slack_api

# Property tests say what holds, never how fast: Hypothesis's default deadline of 200 ms an
# example failed tests/store/test_chosen.py's round trip once in a full run on a busy
# machine (its saved example passed when replayed alone), so no example has a deadline,
# nor fails for generating slowly: here for every test, which then set only their own.
settings.register_profile("alertbot", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("alertbot")

POSTGRES_ADMIN_URL = os.environ.get(
    "ALERTBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point all state at a temp dir and drop the machine's alertbot settings."""
    for name in list(os.environ):
        if name.startswith("ALERTBOT_") and name != "ALERTBOT_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ALERTBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A real SQLite file in the test's temp dir."""
    return f"sqlite:///{tmp_path / 'alertbot.sqlite3'}"


def _postgres_available() -> str | None:
    """None if the server answers, else the reason it does not."""
    try:
        engine = connect(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"no PostgreSQL server at {POSTGRES_ADMIN_URL}: {exc.__class__.__name__}"
    return None


_PG_UNAVAILABLE: str | bool | None = False  # False: not probed yet


_TEST_DATABASE = "alertbot_test"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty schema on the machine's PostgreSQL server, dropped afterwards.

    A schema per test rather than a database per test: CREATE DATABASE costs about a
    second (it copies a template and checkpoints), CREATE SCHEMA a few milliseconds, and
    the tests see the same empty database either way through ``search_path``.
    """
    global _PG_UNAVAILABLE
    if _PG_UNAVAILABLE is False:
        _PG_UNAVAILABLE = _postgres_available()
    if _PG_UNAVAILABLE:
        pytest.skip(str(_PG_UNAVAILABLE))
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    admin = connect(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": _TEST_DATABASE}
        ).first()
        if not exists:
            # Another test process may create it between the check and here.
            with contextlib.suppress(Exception):
                conn.execute(text(f'CREATE DATABASE "{_TEST_DATABASE}"'))
    admin.dispose()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    db = connect(f"{base}/{_TEST_DATABASE}", isolation_level="AUTOCOMMIT")
    with db.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}/{_TEST_DATABASE}?options=-csearch_path%3D{schema}"
    finally:
        with db.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on a real SQLite file and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(db_url: str, _migrated_sqlite: Path) -> Iterator[Engine]:
    """A migrated engine on each backend.

    The store starts as ``migrate`` leaves a new one, without running every migration
    for every test (70-150 ms on SQLite, 0.2-0.7 s on PostgreSQL with the suite's
    processes sharing two cores): on SQLite a copy of a file this test process migrated
    once; on PostgreSQL a schema migrated by an earlier test of this process and
    emptied after it (``tests/helpers/stores.py``). ``migrate`` still runs, finding nothing to do,
    as at every start of the service. The migrations themselves are tested from an empty
    store (``tests/store/test_migrations.py``, on ``db_url``).
    """
    with (
        SCHEMAS.reused(db_url)
        if db_url.startswith("postgresql")
        else copied(_migrated_sqlite, db_url)
    ):
        eng = connect(db_url)
        migrate(eng)
        yield eng
        eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str, _migrated_sqlite: Path) -> Iterator[Engine]:
    """A migrated engine on a real SQLite file only (for tests that are not about SQL)."""
    with copied(_migrated_sqlite, sqlite_url):
        eng = connect(sqlite_url)
        migrate(eng)
        yield eng
        eng.dispose()


@pytest.fixture(scope="session", autouse=True)
def _drop_pooled_schemas() -> Iterator[None]:
    """The test process's pool of PostgreSQL schemas goes when it ends."""
    yield
    SCHEMAS.drop_all()


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated once per test process, closed (its WAL checkpointed
    into the file), for :func:`~tests.helpers.stores.copied`."""
    path = tmp_path_factory.mktemp("migrated") / "alertbot.sqlite3"
    eng = connect(f"sqlite:///{path}")
    migrate(eng)
    eng.dispose()
    return path


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """CLI commands point alertbot's log handler at the runner's stderr; undo that after."""
    logger = logging.getLogger("alertbot")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


# -- Slack: the real app on a real store, Slack's Web API on the local stand-in ----------


@pytest.fixture(scope="session")
def _slack_server() -> Iterator[SlackStandIn]:
    # One stand-in for the session: stopping an http.server takes half a second.
    with slack_api() as stand_in:
        yield stand_in


@pytest.fixture
def slack(_slack_server: SlackStandIn) -> SlackStandIn:
    """The Slack Web API stand-in with no calls, posts or scripts left from other tests."""
    with _slack_server.lock:
        _slack_server.calls.clear()
        _slack_server.responses.clear()
        _slack_server.scripts.clear()
        _slack_server.answer = None
    return _slack_server


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn) -> Iterator[World]:
    """web.create_app with the Slack and unsubscribe routes, on a real SQLite file."""
    yield from build_world(sqlite_engine, tmp_path, slack)


@pytest.fixture
def any_world(engine: Engine, tmp_path: Path, slack: SlackStandIn) -> Iterator[World]:
    """The same app on each backend (SQLite file and PostgreSQL), for the SQL that matters."""
    yield from build_world(engine, tmp_path, slack)

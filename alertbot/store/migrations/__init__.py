"""Schema migrations, with Alembic: named revisions in ``versions/``, from a frozen baseline.

Why Alembic rather than a hand-written list: it is the SQLAlchemy project's own tool,
it records what ran in ``alembic_version``, and its batch mode performs the table
copies SQLite needs for most ``ALTER``s, which a hand-written runner would have to
reimplement per migration.

Every schema change goes through a new module ``versions/NNNN_what_it_does.py`` whose
``revision`` is that name and whose ``down_revision`` is the previous one (one line of
history; a test fails if there are two heads). ``schema.py`` declares the tables as
the code reads them today; ``tests/store/test_migrations.py`` checks that the
migrations build exactly that, and upgrades a store at the baseline, filled with rows,
to the head on SQLite and PostgreSQL.

Stores made by alertbot 0.1 recorded their one migration in ``schema_version``; they are
stamped at ``0001_baseline`` the first time this runs, then upgraded like any other.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from alertbot.store.locks import Lock

HERE = Path(__file__).resolve().parent
BASELINE = "0001_baseline"


def config(conn: Connection | None = None) -> Config:
    """An Alembic config for our scripts (no ``alembic.ini``), bound to ``conn``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = conn
    return cfg


def head() -> str:
    """The newest revision."""
    heads = ScriptDirectory.from_config(config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads, need one: {heads}")
    return heads[0]


def current(conn: Connection) -> str | None:
    """The revision the store is at (None: nothing applied yet)."""
    return MigrationContext.configure(conn).get_current_revision()


def history() -> list[str]:
    """Every revision, oldest first."""
    scripts = ScriptDirectory.from_config(config())
    return [rev.revision for rev in reversed(list(scripts.walk_revisions()))]


def upgrade(conn: Connection, target: str = "head") -> list[str]:
    """Apply every pending migration inside ``conn``'s transaction; return their names."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SELECT pg_advisory_xact_lock({int(Lock.MIGRATIONS)})"))
    cfg = config(conn)
    before = current(conn)
    if before is None and inspect(conn).has_table("schema_version"):
        command.stamp(cfg, BASELINE)  # a 0.1 store: its tables are the baseline's
        before = BASELINE
    command.upgrade(cfg, target)
    after = current(conn)
    names = history()
    start = names.index(before) + 1 if before in names else 0
    stop = names.index(after) + 1 if after in names else 0
    return names[start:stop]

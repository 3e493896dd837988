"""Drop ``schema_version``, the 0.1 migration ledger: Alembic's ``alembic_version`` keeps it now.

A 0.1 store has it (and is stamped at ``0001_baseline`` on first contact, see
:func:`alertbot.store.migrations.upgrade`); a store made since never had it.
"""

from __future__ import annotations

from alembic import op

revision = "0002_drop_schema_version"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS schema_version")

"""Drop ``ix_endpoints_subscriber_id``: ``uq_endpoints_address`` (subscriber_id, kind,
address) already starts with the subscriber, so it serves every lookup by subscriber and
the cascade from ``subscribers`` alike.

Each index is one more entry to write for every endpoint row the dispatcher tick moves
(``next_due_at`` and ``last_digest_date`` for each endpoint it looked at; indexed, so
PostgreSQL cannot update in place): on PostgreSQL, 100,000 such updates took 1.6-2.0 s
with the extra index and 1.25-1.35 s without it.
"""

from __future__ import annotations

from alembic import op

revision = "0013_endpoints_index"
down_revision = "0012_subscriber_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_endpoints_subscriber_id", table_name="endpoints")

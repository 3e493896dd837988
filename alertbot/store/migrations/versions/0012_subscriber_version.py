"""A subscriber's version: new with every change to what a digest is built from.

``subscribers.version`` is replaced by a random 62-bit number with every write of the
subscriber's row, its profile's queries or its endpoints (:mod:`alertbot.store.subscribers`
is where every such write is made). A dispatcher keeps the subscribers it loaded between
ticks and reloads only those whose version moved (:mod:`alertbot.store.kept`): building
100,000 Subscribers from their rows was 3 s of every 100,000-reader tick (``alertbot
bench tick``). Rows already stored start at 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_subscriber_version"
down_revision = "0011_outbox_learning"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as subscribers:
        subscribers.add_column(
            sa.Column("version", sa.BigInteger(), nullable=False, server_default="0")
        )

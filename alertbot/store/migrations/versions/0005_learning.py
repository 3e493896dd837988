"""Learning from feedback: a per-reader switch, and where each verdict came from.

``subscribers.learning`` (default true): the reader allows the learned ranking, which
takes effect once they have given enough feedback. ``feedback.channel``: ``slack``,
``email`` or ``web``; every verdict stored before this came from the Slack buttons.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_learning"
down_revision = "0004_outgoing_mail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: SQLite adds a column with a constant default in
    # place, while a batch copy would drop and recreate ``subscribers``, and with
    # foreign keys on that drop cascades to every profile query and endpoint.
    op.add_column(
        "subscribers",
        sa.Column("learning", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "feedback", sa.Column("channel", sa.String(16), nullable=False, server_default="slack")
    )

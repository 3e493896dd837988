"""An outbox row says when the reader's learned ranking ordered it (issue 15).

``outbox.learning`` is NULL for a digest in keyword order (every row before this
revision, and every reader without learning on and enough feedback), else JSON text:
each shown paper's reason for moving (or null) and the query suggestions of that day
(:mod:`alertbot.store.learned`). The worker renders them as stored: nothing is trained
at send time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_outbox_learning"
down_revision = "0010_outbox_rest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("learning", sa.Text(), nullable=True))

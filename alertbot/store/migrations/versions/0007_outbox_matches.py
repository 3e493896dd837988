"""Each outbox row keeps the matches it was queued with ("match once", issue 12).

``outbox.matches`` holds, as JSON text, what the dispatcher chose for the digest: each
paper's score, the interests that matched and the terms and character spans to
highlight (:mod:`alertbot.store.chosen`), so sending is load and render. Rows queued
before this revision have none; they are sent with their papers, unhighlighted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_outbox_matches"
down_revision = "0006_delivery_phases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("matches", sa.Text(), nullable=True))

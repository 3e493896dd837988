"""``outgoing_mail``: the emails sent because someone asked, so they can be limited.

Counted per (purpose, address) and per (purpose, requester) by
:mod:`alertbot.store.outgoing_mail`; pruned by the cleanup job.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_outgoing_mail"
down_revision = "0003_paper_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("address_key", sa.String(64), nullable=False),
        sa.Column("requester_key", sa.String(64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outgoing_mail_sent_at", "outgoing_mail", ["sent_at"])
    op.create_index(
        "ix_outgoing_mail_address", "outgoing_mail", ["purpose", "address_key", "sent_at"]
    )
    op.create_index(
        "ix_outgoing_mail_requester", "outgoing_mail", ["purpose", "requester_key", "sent_at"]
    )

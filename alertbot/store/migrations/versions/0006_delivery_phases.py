"""What a lost worker leaves behind, and relays that are down.

``outbox`` gains ``phase`` (how far the current attempt got: ``started``, then
``handed_over`` just before SMTP's final dot or Slack's post; see
``alertbot.model.SendPhase``) and ``deadline_at`` (when a digest that keeps failing
gives up: set at its first attempt). ``relay_breakers`` holds one row per relay with
consecutive connection-level failures, and until when it is left alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_delivery_phases"
down_revision = "0005_learning"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("phase", sa.String(16), nullable=True))
        outbox.add_column(sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "relay_breakers",
        sa.Column("relay", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("trips", sa.Integer(), nullable=False),
        sa.Column("open_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("relay"),
    )

"""The subscribers' web accounts: single-use sign-in links and revocable sessions.

``used_signin_links`` keeps the id of each sign-in link once it is used, so a link
opened twice (or stolen from a mailbox after use) signs nobody in.
``session_generations`` holds each subscriber's session generation: a session cookie
names the generation it was issued under, and signing out or unsubscribing moves it on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alertbot.store.types import UTCDateTime

revision = "0009_web_accounts"
down_revision = "0008_due_selection"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "used_signin_links",
        sa.Column("link_id", sa.String(64), primary_key=True),
        sa.Column("used_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_used_signin_links_used_at", "used_signin_links", ["used_at"])
    op.create_table(
        "session_generations",
        sa.Column(
            "subscriber_id",
            sa.Integer(),
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("generation", sa.Integer(), nullable=False),
    )

"""Each outbox row keeps the matches beyond its cap too, for the digest's web page.

``outbox.rest`` holds, as JSON text (:class:`alertbot.store.chosen.Bare`), the papers the
profile matched beyond ``max_papers``, ranked, with their scores and the profile's
interests at queue time: which interests matched each paper and what to highlight are
worked out when the page is opened, only for the pages that are (building them at queue
time for every digest would add to the tick's most expensive phase).
``ix_outbox_subscriber_date`` serves a reader's archive, newest first. Rows queued
before this revision have no rest; their page lists the papers the digest showed and
says how many more there were.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_outbox_rest"
down_revision = "0009_web_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("rest", sa.Text(), nullable=True))
    op.create_index("ix_outbox_subscriber_date", "outbox", ["subscriber_id", "digest_date", "id"])

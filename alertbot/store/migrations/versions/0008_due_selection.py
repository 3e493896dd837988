"""What the dispatcher tick reads, kept and indexed so its cost follows the due digests.

``endpoints.next_due_at`` is when the tick should look at the endpoint next (its next
send time; NULL, as every endpoint starts here: at the next tick), indexed, so the tick
selects the endpoints whose time has come in SQL (:mod:`alertbot.store.due`).
``endpoints.last_digest_date`` is the latest digest date queued on the endpoint (what
``max(outbox.digest_date)`` says; :func:`alertbot.store.enqueue.insert_many` moves it in
the transaction that queues the row), so the rules need not group the whole outbox.

``delivered_papers.first_seen`` is when the delivered paper was first stored (it never
changes), so "papers delivered here and first stored since the last sent digest" is one
index range per endpoint (``ix_delivered_papers_since``) instead of every paper the
endpoint ever received. ``ix_outbox_endpoint_state`` answers "the last sent digest of
this endpoint" and "its digests in flight" with one probe each, however long its history.
``ix_delivered_papers_outbox`` serves the ``ON DELETE CASCADE`` of an outbox row, which
otherwise reads every delivery mark for each row deleted.

Both new columns are filled here from the rows already stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alertbot.store.types import UTCDateTime

revision = "0008_due_selection"
down_revision = "0007_outbox_matches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endpoints") as endpoints:
        endpoints.add_column(sa.Column("last_digest_date", sa.Date(), nullable=True))
        endpoints.add_column(sa.Column("next_due_at", UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE endpoints SET last_digest_date = (SELECT max(outbox.digest_date)"
        " FROM outbox WHERE outbox.endpoint_id = endpoints.id)"
    )
    with op.batch_alter_table("delivered_papers") as delivered:
        delivered.add_column(sa.Column("first_seen", UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE delivered_papers SET first_seen = (SELECT papers.first_seen"
        " FROM papers WHERE papers.id = delivered_papers.paper_id)"
    )
    op.create_index("ix_endpoints_next_due_at", "endpoints", ["next_due_at"])
    op.create_index("ix_outbox_endpoint_state", "outbox", ["endpoint_id", "state", "created_at"])
    op.create_index("ix_delivered_papers_since", "delivered_papers", ["endpoint_id", "first_seen"])
    op.create_index("ix_delivered_papers_outbox", "delivered_papers", ["outbox_id"])

"""Paper fields the digest shows, and the fetch log's skipped announcements.

``papers`` gains what arXiv and Hugging Face say beside the text: affiliations
(parallel to ``authors``), the primary category, the journal reference, the code and
project links, the upvotes and the Hugging Face page. ``fetch_log`` gains
``n_skipped_entries``: the announcements of a type the source does not keep.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_paper_links"
down_revision = "0002_drop_schema_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers") as papers:
        papers.add_column(sa.Column("affiliations", sa.JSON(), nullable=True))
        papers.add_column(sa.Column("primary_category", sa.String(32), nullable=True))
        papers.add_column(sa.Column("journal_ref", sa.Text(), nullable=True))
        papers.add_column(sa.Column("github_repo", sa.Text(), nullable=True))
        papers.add_column(sa.Column("project_page", sa.Text(), nullable=True))
        papers.add_column(sa.Column("upvotes", sa.Integer(), nullable=True))
        papers.add_column(sa.Column("hf_url", sa.Text(), nullable=True))
    with op.batch_alter_table("fetch_log") as fetch_log:
        fetch_log.add_column(
            sa.Column("n_skipped_entries", sa.Integer(), nullable=False, server_default="0")
        )

"""The tables, as the current code reads and writes them.

Changing a table here is not enough: add a migration in ``migrations/versions/`` as well
(``tests/store/test_migrations.py`` checks that a migrated database matches this).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

from alertbot.store.types import UTCDateTime

metadata = MetaData()

# -- ingestion ------------------------------------------------------------------------

papers = Table(
    "papers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("title_key", Text, nullable=False, index=True),
    Column("abstract", Text, nullable=False),
    Column("authors", JSON, nullable=False),
    Column("n_authors", Integer),
    Column("published", Date),
    Column("url", Text),
    Column("arxiv_id", String(32), index=True),
    Column("categories", JSON, nullable=False),
    Column("doi", Text),
    Column("announce_type", String(16)),
    Column("source_format", String(32), nullable=False),
    Column("extra", JSON, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False, index=True),
    Column("last_seen", UTCDateTime, nullable=False),
    # Added by migration 0003_paper_links: what the digest shows beside the text.
    Column("affiliations", JSON),
    Column("primary_category", String(32)),
    Column("journal_ref", Text),
    Column("github_repo", Text),
    Column("project_page", Text),
    Column("upvotes", Integer),
    Column("hf_url", Text),
)

paper_sources = Table(
    "paper_sources",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("source", String(200), primary_key=True),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
)

fetch_log = Table(
    "fetch_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(200), nullable=False),
    Column("location", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    # ok | empty | not_modified | error (alertbot.model.FetchStatus)
    Column("status", String(20), nullable=False),
    Column("n_parsed", Integer, nullable=False, default=0),
    Column("n_new", Integer, nullable=False, default=0),
    Column("n_known", Integer, nullable=False, default=0),
    Column("n_rejected", Integer, nullable=False, default=0),
    Column("n_skipped_files", Integer, nullable=False, default=0),
    Column("error", Text),
    # Added by 0003_paper_links: announcements of a type the source does not keep.
    Column("n_skipped_entries", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_fetch_log_source_started", "source", "started_at"),
)

ingested_files = Table(
    "ingested_files",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("content_hash", String(64), primary_key=True),
    Column("path", Text, nullable=False),
    Column("n_papers", Integer, nullable=False),
    Column("ingested_at", UTCDateTime, nullable=False),
    # Why the file was refused (not a listing); it is not read again until it changes.
    Column("rejected", Text, nullable=True),
)

http_cache = Table(
    "http_cache",
    metadata,
    Column("url", Text, primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

# -- subscribers ----------------------------------------------------------------------

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("send_time", String(5), nullable=False),  # "HH:MM", local
    Column("frequency", String(16), nullable=False),
    Column("weekly_day", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
    Column("min_score", Float, nullable=False, default=0.0),
    Column("max_papers", Integer, nullable=False, default=20),
    Column("slack_team_id", String(32)),
    Column("slack_user_id", String(32)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Added by 0005_learning: the reader allows the learned ranking (alertbot.learn).
    Column("learning", Boolean, nullable=False, default=True, server_default=true()),
    # Added by 0012_subscriber_version: new with every write of the subscriber, its
    # queries or its endpoints (alertbot.store.subscribers, .profiles, .endpoints), so a
    # dispatcher reloads only the subscribers that changed since its last tick
    # (alertbot.store.kept).
    Column("version", BigInteger, nullable=False, default=0, server_default="0"),
    UniqueConstraint("slack_team_id", "slack_user_id", name="uq_subscribers_slack_user"),
)

profile_queries = Table(
    "profile_queries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "subscriber_id",
        Integer,
        ForeignKey("subscribers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("kind", String(16), nullable=False),  # interest | exclusion
    Column("position", Integer, nullable=False),
    Column("query", Text, nullable=False),
)

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    # Looked up by uq_endpoints_address, which starts with it (0013 dropped its own index).
    Column(
        "subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("kind", String(16), nullable=False),
    Column("address", Text, nullable=False),
    Column("slack_team_id", String(32)),
    Column("slack_dm_channel", String(32)),
    Column("active", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text),
    Column("confirmed", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Added by 0008_due_selection: the latest digest date queued here (max of the outbox's),
    # and when the dispatcher should look at this endpoint next (alertbot/store/due.py).
    Column("last_digest_date", Date),
    Column("next_due_at", UTCDateTime, index=True),
    UniqueConstraint("subscriber_id", "kind", "address", name="uq_endpoints_address"),
)

# -- delivery -------------------------------------------------------------------------

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("endpoint_id", Integer, ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("digest_date", Date, nullable=False),
    # an OutboxState value (model.py); the transitions: alertbot/store/outbox.py
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_at", UTCDateTime),
    Column("claimed_by", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("paper_ids", JSON, nullable=False),
    Column("more", Integer, nullable=False, default=0),  # matches beyond the cap
    Column("message_id", Text),
    # Added by 0007_outbox_matches: the chosen matches as JSON (alertbot/store/chosen.py).
    Column("matches", Text),
    # Added by 0010_outbox_rest: the ranked matches beyond the cap, without highlights
    # (alertbot/store/chosen.py), for the digest's web page.
    Column("rest", Text),
    # Added by 0011_outbox_learning: NULL in keyword order, else the learned ranking's
    # reasons and suggestions as JSON (alertbot/store/learned.py).
    Column("learning", Text),
    # Added by 0006_delivery_phases: how far the current attempt got (a SendPhase value,
    # model.py), and when a digest that keeps failing gives up (set at its first attempt).
    Column("phase", String(16)),
    Column("deadline_at", UTCDateTime),
    UniqueConstraint("endpoint_id", "digest_date", name="uq_outbox_endpoint_date"),
    Index("ix_outbox_state_next", "state", "next_attempt_at"),
    # Added by 0008_due_selection: an endpoint's last sent digest and its digests in flight.
    Index("ix_outbox_endpoint_state", "endpoint_id", "state", "created_at"),
    # Added by 0010_outbox_rest: a reader's archive, newest first.
    Index("ix_outbox_subscriber_date", "subscriber_id", "digest_date", "id"),
)

# Added by 0006_delivery_phases: a relay (an SMTP server, the Slack API) with consecutive
# connection-level failures, and until when workers leave it alone (alertbot/store/breakers.py).
relay_breakers = Table(
    "relay_breakers",
    metadata,
    Column("relay", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("trips", Integer, nullable=False),
    Column("open_until", UTCDateTime),
    Column("last_error", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

delivered_papers = Table(
    "delivered_papers",
    metadata,
    Column(
        "endpoint_id", Integer, ForeignKey("endpoints.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("paper_id", String(64), primary_key=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("delivered_at", UTCDateTime, nullable=False, index=True),
    # Added by 0008_due_selection: when the paper was first stored (papers.first_seen).
    Column("first_seen", UTCDateTime),
    Index("ix_delivered_papers_since", "endpoint_id", "first_seen"),
    # Added by 0008_due_selection: the ON DELETE CASCADE of an outbox row.
    Index("ix_delivered_papers_outbox", "outbox_id"),
)

feedback = Table(
    "feedback",
    metadata,
    Column(
        "subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("paper_id", String(64), primary_key=True),
    Column("value", String(16), nullable=False),  # useful | not_useful
    Column("at", UTCDateTime, nullable=False),
    # Added by 0005_learning: slack | email | web, the channel of the latest verdict.
    Column("channel", String(16), nullable=False, default="slack", server_default="slack"),
)

# -- outgoing mail on request -----------------------------------------------------------

# One row per email sent because someone asked (a confirmation link; sign-in links
# later): what alertbot.store.outgoing_mail counts to limit them. Added by migration
# 0004_outgoing_mail. Addresses and requesters are kept as SHA-256 digests only.
outgoing_mail = Table(
    "outgoing_mail",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("address_key", String(64), nullable=False),
    Column("requester_key", String(64), nullable=False),
    Column("sent_at", UTCDateTime, nullable=False, index=True),
    Index("ix_outgoing_mail_address", "purpose", "address_key", "sent_at"),
    Index("ix_outgoing_mail_requester", "purpose", "requester_key", "sent_at"),
)

# -- the subscribers' web accounts (alertbot.web) ---------------------------------------

# Added by 0009_web_accounts. A sign-in link works once: its id is kept here when it is
# used (rows older than the link's lifetime can go: the signature refuses those anyway).
used_signin_links = Table(
    "used_signin_links",
    metadata,
    Column("link_id", String(64), primary_key=True),
    Column("used_at", UTCDateTime, nullable=False, index=True),
)

# Added by 0009_web_accounts. A session cookie carries its subscriber's generation when
# it was issued; signing out or unsubscribing moves the generation on, which ends every
# session issued before. No row: generation 0.
session_generations = Table(
    "session_generations",
    metadata,
    Column(
        "subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("generation", Integer, nullable=False),
)

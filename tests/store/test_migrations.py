"""The schema moves only by migrations: a frozen baseline, named steps, tested upgrades."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from alertbot.store import connect, migrate, migrations
from alertbot.store.candidates import candidate_papers
from alertbot.store.deliveries import list_rows
from alertbot.store.papers import get_papers
from alertbot.store.reclaim import reclaim
from alertbot.store.schema import metadata
from alertbot.store.subscribers import get_subscriber

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
VERSIONS = Path(migrations.__file__).parent / "versions"


def _at(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        migrations.upgrade(conn, revision)


def test_it_builds_exactly_the_declared_schema(engine: Engine) -> None:
    """After every migration, Alembic finds no difference from schema.py (tables,
    columns, types, nullability, indexes, unique and foreign keys)."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_it_applies_nothing_to_an_up_to_date_store(engine: Engine) -> None:
    """Migrating twice applies each migration once; the store is at the head."""
    assert migrate(engine) == []
    with engine.connect() as conn:
        assert migrations.current(conn) == migrations.head()


def test_a_fresh_store_runs_every_migration_in_order(db_url: str) -> None:
    """A new store gets every named migration, oldest first."""
    engine = connect(db_url)
    try:
        assert migrate(engine) == migrations.history()
        assert migrations.history()[0] == migrations.BASELINE
    finally:
        engine.dispose()


def test_migrations_form_one_line_named_after_their_files() -> None:
    """One head; each file's revision is its own name and points at the one before."""
    scripts = ScriptDirectory.from_config(migrations.config())
    assert len(scripts.get_heads()) == 1
    files = sorted(p.stem for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert migrations.history() == files
    for before, after in itertools.pairwise(files):
        assert scripts.get_revision(after).down_revision == before


def _fill_baseline(conn: Connection) -> None:
    """One row in every table of the frozen baseline, written as 0.1 wrote them."""
    at = T0.replace(tzinfo=None) if conn.dialect.name == "sqlite" else T0
    rows: dict[str, dict[str, object]] = {
        "papers": {
            "id": "2611.00001",
            "title": "Graph transformers at scale",
            "title_key": "graph transformers at scale",
            "abstract": "We scale graph transformers.",
            "authors": json.dumps(["Ada Lovelace"]),
            "n_authors": 1,
            "published": date(2026, 11, 19),
            "url": "https://arxiv.org/abs/2611.00001",
            "arxiv_id": "2611.00001",
            "categories": json.dumps(["cs.LG"]),
            "doi": None,
            "announce_type": "new",
            "source_format": "feed",
            "extra": json.dumps({}),
            "first_seen": at,
            "last_seen": at,
        },
        "paper_sources": {
            "paper_id": "2611.00001",
            "source": "arxiv",
            "first_seen": at,
            "last_seen": at,
        },
        "fetch_log": {
            "id": 1,
            "source": "arxiv",
            "location": "https://rss.arxiv.org/rss/cs.LG",
            "started_at": at,
            "finished_at": at,
            "status": "ok",
            "n_parsed": 1,
            "n_new": 1,
            "n_known": 0,
            "n_rejected": 0,
            "n_skipped_files": 0,
            "error": None,
        },
        "ingested_files": {
            "source": "dumps",
            "content_hash": "ab" * 32,
            "path": "day.txt",
            "n_papers": 1,
            "ingested_at": at,
            "rejected": None,
        },
        "http_cache": {"url": "https://rss.arxiv.org/rss/cs.LG", "etag": '"x"', "updated_at": at},
        "subscribers": {
            "id": 1,
            "name": "Ada",
            "timezone": "Europe/London",
            "send_time": "08:00",
            "frequency": "daily",
            "weekly_day": 0,
            "active": True,
            "min_score": 0.0,
            "max_papers": 20,
            "created_at": at,
            "updated_at": at,
        },
        "profile_queries": {
            "id": 1,
            "subscriber_id": 1,
            "kind": "interest",
            "position": 0,
            "query": "graph transformer",
        },
        "endpoints": {
            "id": 1,
            "subscriber_id": 1,
            "kind": "email",
            "address": "ada@example.org",
            "active": True,
            "confirmed": True,
            "created_at": at,
        },
        "outbox": {
            "id": 1,
            "subscriber_id": 1,
            "endpoint_id": 1,
            "digest_date": date(2026, 11, 19),
            "state": "sent",
            "attempts": 1,
            "next_attempt_at": at,
            "created_at": at,
            "sent_at": at,
            "paper_ids": json.dumps(["2611.00001"]),
            "more": 0,
            "message_id": "<o1@example.org>",
        },
        "delivered_papers": {
            "endpoint_id": 1,
            "paper_id": "2611.00001",
            "outbox_id": 1,
            "delivered_at": at,
        },
        "feedback": {"subscriber_id": 1, "paper_id": "2611.00001", "value": "useful", "at": at},
    }
    baseline_tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    assert set(rows) == baseline_tables, "every baseline table gets a row"
    for table, values in rows.items():
        names = ", ".join(values)
        params = ", ".join(f":{k}" for k in values)
        insert = f"INSERT INTO {table} ({names}) VALUES ({params})"  # noqa: S608 (our names)
        conn.execute(text(insert), values)


def test_an_upgrade_from_the_baseline_keeps_every_row(db_url: str) -> None:
    """A store at the baseline, with a row in every table, upgrades to the head and the
    code reads its papers, subscribers and outbox as before."""
    engine = connect(db_url)
    try:
        _at(engine, migrations.BASELINE)
        with engine.begin() as conn:
            _fill_baseline(conn)
        applied = migrate(engine)
        assert applied == migrations.history()[1:]
        paper = get_papers(engine, ["2611.00001"])["2611.00001"].paper
        assert (paper.title, paper.authors, paper.categories) == (
            "Graph transformers at scale",
            ("Ada Lovelace",),
            ("cs.LG",),
        )
        subscriber = get_subscriber(engine, 1)
        assert subscriber is not None
        assert subscriber.profile.interests == ("graph transformer",)
        (row,) = list_rows(engine)
        assert (row.state, row.paper_ids) == ("sent", ("2611.00001",))
        endpoint = subscriber.endpoints[0]
        assert candidate_papers(engine, endpoint, now=T0) == []  # delivered already
    finally:
        engine.dispose()


def test_a_store_made_by_version_0_1_is_adopted(db_url: str) -> None:
    """A 0.1 store (its ledger in schema_version) is stamped at the baseline, upgraded,
    and its old ledger dropped."""
    engine = connect(db_url)
    try:
        _at(engine, migrations.BASELINE)
        with engine.begin() as conn:
            _fill_baseline(conn)
            conn.execute(text("DROP TABLE alembic_version"))
            conn.execute(
                text(
                    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                    "name VARCHAR(100) NOT NULL, applied_at TIMESTAMP NOT NULL)"
                )
            )
            conn.execute(
                text("INSERT INTO schema_version VALUES (1, 'baseline', :at)"),
                {"at": T0.replace(tzinfo=None)},
            )
        assert migrate(engine) == migrations.history()[1:]
        assert not inspect(engine).has_table("schema_version")
        assert get_subscriber(engine, 1) is not None
    finally:
        engine.dispose()


def test_a_migration_that_fails_leaves_the_store_as_it_was(db_url: str) -> None:
    """Migrations run in one transaction: when one fails (here a stray table in the way
    of the baseline), none is applied and the store is as it was."""
    engine = connect(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE subscribers (id INTEGER PRIMARY KEY)"))
        with pytest.raises(Exception, match="subscribers"):
            migrate(engine)
        assert inspect(engine).get_table_names() == ["subscribers"]
    finally:
        engine.dispose()


def test_an_upgrade_through_paper_links_keeps_papers_and_fetches(db_url: str) -> None:
    """A store from before 0003 keeps its papers and fetch log; the new fields start empty."""
    from alertbot.store.fetches import latest_fetches

    engine = connect(db_url)
    try:
        _at(engine, "0002_drop_schema_version")
        with engine.begin() as conn:
            _fill_baseline(conn)
        since_0003 = migrations.history()[migrations.history().index("0003_paper_links") :]
        assert migrate(engine) == since_0003
        paper = get_papers(engine, ["2611.00001"])["2611.00001"].paper
        assert paper.title == "Graph transformers at scale"
        assert (paper.github_repo, paper.upvotes, paper.affiliations) == (None, None, ())
        assert [r.n_skipped_entries for r in latest_fetches(engine)] == [0]
    finally:
        engine.dispose()


def test_an_upgrade_through_learning_keeps_profiles_and_feedback(db_url: str) -> None:
    """A store from before 0005 keeps every interest, endpoint and verdict (adding the
    columns never rebuilds ``subscribers``, whose drop would cascade to them); readers
    start with learning allowed, and old verdicts are recorded as from Slack."""
    from alertbot.store.feedback import get_feedback

    engine = connect(db_url)
    try:
        _at(engine, "0003_paper_links")
        with engine.begin() as conn:
            _fill_baseline(conn)
        _at(engine, "0004_outgoing_mail")
        history = migrations.history()
        assert migrate(engine) == history[history.index("0005_learning") :]
        subscriber = get_subscriber(engine, 1)
        assert subscriber is not None
        assert subscriber.profile.interests == ("graph transformer",)
        assert [e.address for e in subscriber.endpoints] == ["ada@example.org"]
        assert subscriber.learning is True
        assert get_feedback(engine, 1) == {"2611.00001": "useful"}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT channel FROM feedback")).scalar_one() == "slack"
    finally:
        engine.dispose()


def test_a_row_an_old_worker_left_sending_is_reclaimed_at_no_cost_after_0006(db_url: str) -> None:
    """A row left 'sending' by a worker from before 0006 has no phase: after the upgrade
    it is reclaimed as pending with its attempts as they were."""
    engine = connect(db_url)
    try:
        _at(engine, "0003_paper_links")
        with engine.begin() as conn:
            _fill_baseline(conn)
        _at(engine, "0005_learning")
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE outbox SET state = 'sending', claimed_by = 'old:1', claimed_at = :at"),
                {"at": T0.replace(tzinfo=None) if engine.dialect.name == "sqlite" else T0},
            )
        assert migrate(engine)[:1] == ["0006_delivery_phases"]
        assert reclaim(engine, now=T0 + timedelta(hours=1), lease_seconds=600) == 1
        (row,) = list_rows(engine)
        assert (row.state, row.phase, row.deadline_at) == ("pending", None, None)
    finally:
        engine.dispose()


def test_an_upgrade_through_stored_matches_keeps_the_outbox_readable(db_url: str) -> None:
    """A store from before 0007: its rows read as bare matches (sent unhighlighted), each
    endpoint knows its last digest date, and each delivered paper when it was stored."""
    from alertbot.store.due import to_look_at
    from alertbot.store.schema import delivered_papers

    engine = connect(db_url)
    try:
        _at(engine, "0003_paper_links")
        with engine.begin() as conn:
            _fill_baseline(conn)
        _at(engine, "0006_delivery_phases")
        assert migrate(engine)[:2] == ["0007_outbox_matches", "0008_due_selection"]
        (row,) = list_rows(engine)
        assert [(m.paper_id, m.score, m.interests, m.hits) for m in row.matches()] == [
            ("2611.00001", 0.0, (), ())
        ]
        # The baseline's digest for 2026-11-19 is queued there; look at it at the next tick.
        (endpoint,) = to_look_at(engine, now=T0)
        assert (endpoint.endpoint_id, endpoint.last_digest_date) == (1, date(2026, 11, 19))
        with engine.connect() as conn:
            seen = conn.execute(
                delivered_papers.select().with_only_columns(
                    delivered_papers.c.paper_id, delivered_papers.c.first_seen
                )
            ).all()
        assert [tuple(r) for r in seen] == [("2611.00001", T0)]
    finally:
        engine.dispose()


def test_an_upgrade_through_0010_keeps_the_outbox_and_has_no_rest(db_url: str) -> None:
    """A row queued before the rest was stored reads with none (its page lists what the
    digest showed), and the reader's archive finds it."""
    from alertbot.store.archive import reader_rows

    engine = connect(db_url)
    try:
        _at(engine, "0003_paper_links")
        with engine.begin() as conn:
            _fill_baseline(conn)
        _at(engine, "0009_web_accounts")
        assert migrate(engine)[:1] == ["0010_outbox_rest"]
        (row,) = list_rows(engine)
        assert row.rest() == ()
        assert [r.id for r in reader_rows(engine, row.subscriber_id, limit=5)] == [row.id]
    finally:
        engine.dispose()


def test_an_upgrade_through_stored_learning_keeps_rows_in_keyword_order(db_url: str) -> None:
    """A store from before 0011: its rows have no learning part (keyword order, no
    reasons, no suggestions) and still read."""
    engine = connect(db_url)
    try:
        _at(engine, "0003_paper_links")
        with engine.begin() as conn:
            _fill_baseline(conn)
        _at(engine, "0010_outbox_rest")
        assert migrate(engine) == [
            "0011_outbox_learning",
            "0012_subscriber_version",
            "0013_endpoints_index",
        ]
        (row,) = list_rows(engine)
        assert row.learning() is None
        assert [m.paper_id for m in row.matches()] == ["2611.00001"]
    finally:
        engine.dispose()

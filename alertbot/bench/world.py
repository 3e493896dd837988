"""The store ``alertbot bench tick`` (and ``bench deliver``'s) run on: a throwaway
SQLite file or PostgreSQL schema, and the world of a working day bulk-loaded into it.

``days`` days of 1,000 papers (the last day's new), N subscribers with one email endpoint
each whose send time has passed, yesterday's digest sent to every one with its papers
marked delivered, and, for ``--feedback``, verdicts on those papers. Rows go in through
the driver (COPY on PostgreSQL, executemany on SQLite), not the store's functions:
setting up is not what is measured.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, select, text, update

from alertbot.bench.match import generate_papers, generate_profiles
from alertbot.bench.workload import real_papers, realistic_profiles
from alertbot.model import EndpointKind, OutboxState, Paper, Profile
from alertbot.samples import sample_dump_paths
from alertbot.sources import load_papers
from alertbot.store import connect
from alertbot.store.papers import upsert_papers
from alertbot.store.schema import delivered_papers, endpoints, profile_queries, subscribers
from alertbot.store.schema import feedback as feedback_table
from alertbot.store.schema import outbox as outbox_table

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday morning
PAPERS_PER_DAY = 1000
MAX_PAPERS = 20
DELIVERED_PER_DIGEST = 20
# Zones whose local time at NOW is past the send times drawn below (before 07:00 local).
ZONES = ("UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo")
VERDICTS_EACH = 10  # --feedback: useful and not useful verdicts per reader who gives them


@contextmanager
def _postgres_schema(url: str) -> Iterator[str]:
    """A throwaway schema on the PostgreSQL server at ``url``; yields a URL that uses it."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = connect(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _bulk(engine: Engine, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Load rows fast, straight through the driver: COPY on PostgreSQL, executemany on
    SQLite (values written as SQLAlchemy writes them there)."""
    if not rows:
        return
    names = list(rows[0])
    with engine.begin() as conn:
        raw: Any = conn.connection.dbapi_connection
        if conn.dialect.name == "postgresql":
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row([_value(row[n], sqlite=False) for n in names])
            return
        marks = ", ".join("?" for _ in names)
        raw.executemany(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})",  # noqa: S608
            ([_value(row[n], sqlite=True) for n in names] for row in rows),
        )


def _value(value: Any, *, sqlite: bool) -> Any:
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    if sqlite and isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if sqlite and isinstance(value, date):
        return value.isoformat()
    return value


def build_world(
    engine: Engine, n: int, papers: Sequence[Paper], profiles: Sequence[Profile]
) -> None:
    """Store the papers (the last PAPERS_PER_DAY are today's) and ``n`` subscribers."""
    days = max(len(papers) // PAPERS_PER_DAY, 1)
    for day in range(days):
        part = papers[day * PAPERS_PER_DAY : (day + 1) * PAPERS_PER_DAY]
        stored_at = NOW - timedelta(days=days - 1 - day, hours=2)
        upsert_papers(engine, part, source="bench", now=stored_at)
    rng = random.Random(5)  # reproducible test data, not secrets
    joined = NOW - timedelta(days=30)
    subs: list[dict[str, Any]] = []
    queries: list[dict[str, Any]] = []
    eps: list[dict[str, Any]] = []
    for i in range(n):
        sid = i + 1
        profile = profiles[i % len(profiles)]
        subs.append(
            {
                "id": sid,
                "name": f"Reader {sid}",
                "timezone": rng.choice(ZONES),
                "send_time": f"{rng.randrange(0, 7):02d}:{rng.choice((0, 15, 30, 45)):02d}",
                "frequency": "daily",
                "weekly_day": 0,
                "active": True,
                "min_score": profile.min_score,
                "max_papers": MAX_PAPERS,
                "created_at": joined,
                "updated_at": joined,
            }
        )
        for kind, texts in (("interest", profile.interests), ("exclusion", profile.exclusions)):
            queries += [
                {"subscriber_id": sid, "kind": kind, "position": k, "query": q}
                for k, q in enumerate(texts)
            ]
        eps.append(
            {
                "id": sid,
                "subscriber_id": sid,
                "kind": EndpointKind.EMAIL.value,
                "address": f"reader{sid}@example.org",
                "active": True,
                "confirmed": True,
                "created_at": joined,
            }
        )
    _bulk(engine, subscribers, subs)
    _bulk(engine, profile_queries, queries)
    _bulk(engine, endpoints, eps)
    _yesterday(engine, n, papers, rng)


def _yesterday(engine: Engine, n: int, papers: Sequence[Paper], rng: random.Random) -> None:
    """Yesterday's digest, sent to everyone, its papers delivered."""
    yesterday = (NOW - timedelta(days=1)).date()
    queued = NOW - timedelta(days=1)
    older = [p.id for p in papers[:-PAPERS_PER_DAY]] or [p.id for p in papers]
    rows: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    stored = NOW - timedelta(days=1, hours=2)
    for i in range(n):
        chosen = rng.sample(older, min(DELIVERED_PER_DIGEST, len(older)))
        rows.append(
            {
                "id": i + 1,
                "subscriber_id": i + 1,
                "endpoint_id": i + 1,
                "digest_date": yesterday,
                "state": OutboxState.SENT.value,
                "attempts": 1,
                "next_attempt_at": queued,
                "created_at": queued,
                "sent_at": queued + timedelta(minutes=1),
                "paper_ids": chosen,
                "more": 0,
            }
        )
        marks += [
            {
                "endpoint_id": i + 1,
                "paper_id": pid,
                "outbox_id": i + 1,
                "delivered_at": queued + timedelta(minutes=1),
                "first_seen": stored,
            }
            for pid in chosen
        ]
    _bulk(engine, outbox_table, rows)
    _bulk(engine, delivered_papers, marks)
    with engine.begin() as conn:
        conn.execute(update(endpoints).values(last_digest_date=yesterday))
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('outbox_id_seq', (SELECT max(id) FROM outbox))"))
            conn.execute(text("ANALYZE"))


def add_feedback(engine: Engine, n: int, share: float) -> None:
    """Verdicts from ``share`` of the readers on papers yesterday's digest brought them."""
    if share <= 0:
        return
    rng = random.Random(15)  # reproducible test data, not secrets
    judges = rng.sample(range(1, n + 1), round(share * n))
    with engine.connect() as conn:
        delivered = conn.execute(
            select(delivered_papers.c.endpoint_id, delivered_papers.c.paper_id).where(
                delivered_papers.c.endpoint_id.in_(judges)
            )
        ).all()
    by_reader: dict[int, list[str]] = {}
    for endpoint_id, paper_id in delivered:
        by_reader.setdefault(int(endpoint_id), []).append(str(paper_id))
    rows: list[dict[str, Any]] = []
    for sid, got in sorted(by_reader.items()):
        picked = rng.sample(sorted(got), min(2 * VERDICTS_EACH, len(got)))
        rows += [
            {"subscriber_id": sid, "paper_id": pid, "at": NOW - timedelta(hours=20),
             "value": "useful" if k < VERDICTS_EACH else "not_useful", "channel": "email"}
            for k, pid in enumerate(picked)
        ]  # fmt: skip
    _bulk(engine, feedback_table, rows)


@contextmanager
def store_url(backend: str, postgres_url: str, tmp: str) -> Iterator[str]:
    """A store for a benchmark: a file in ``tmp``, or a throwaway PostgreSQL schema."""
    if backend == "postgres":
        with _postgres_schema(postgres_url) as url:
            yield url
    elif backend == "sqlite":
        yield f"sqlite:///{tmp}/bench.sqlite3"
    else:
        raise ValueError(f"unknown backend {backend!r} (sqlite or postgres)")


def workload_for(kind: str, n_papers: int, n_profiles: int) -> tuple[list[Paper], list[Profile]]:
    """Papers and profiles: ``realistic`` (real text, profiles calibrated to match about
    2.5% of a day's papers, as ``bench match`` uses) or ``easy`` (the older generator)."""
    seed = [p for path in sample_dump_paths() for p in load_papers(str(path), now=NOW)]
    if kind == "realistic":
        papers = real_papers(seed, n_papers)
        today = papers[-PAPERS_PER_DAY:]
        return papers, list(realistic_profiles(today, n_profiles).values())
    if kind == "easy":
        texts = [p.abstract for p in seed]
        return generate_papers(texts, n_papers), list(generate_profiles(texts, n_profiles).values())
    raise ValueError(f"unknown workload {kind!r} (realistic or easy)")

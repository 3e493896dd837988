"""Delivery marks: the papers each endpoint has received (``delivered_papers``), marked
when their digest becomes ``sent`` (in the same write: ``complete`` in
``alertbot/store/attempts.py``), read by the candidates rules (``alertbot/store/
candidates.py``) and :func:`alertbot.store.deliveries.delivered_paper_ids`, pruned when
old."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Integer, Text, bindparam, delete, func, select, true
from sqlalchemy.dialects import postgresql, sqlite

from alertbot.store.db import Db, transaction
from alertbot.store.prepared import Prepared
from alertbot.store.schema import delivered_papers, papers
from alertbot.store.types import UTCDateTime


def mark_delivered(
    db: Db, endpoint_id: int, paper_ids: Iterable[str], outbox_id: int, *, now: datetime
) -> int:
    """Record papers as delivered on the endpoint; duplicates are ignored. Returns rows added.

    Each mark carries the paper's ``first_seen`` (looked up in the same statement), which
    is what the candidates rules ask of delivered papers.
    """
    found = rows(endpoint_id, paper_ids, outbox_id, now)
    if not found:
        return 0
    with transaction(db) as conn:
        # One statement run with many parameter sets: SQLAlchemy batches it into
        # multi-row INSERTs ("insertmanyvalues") and caches its compiled form, which a
        # .values(rows) statement of varying length never hits. RETURNING counts the
        # rows really added (an executemany rowcount is not reliable across drivers).
        stmt = _MARK[conn.dialect.name == "postgresql"]
        return len(conn.execute(stmt, found).all())


def rows(
    endpoint_id: int, paper_ids: Iterable[str], outbox_id: int, now: datetime
) -> list[dict[str, Any]]:
    """The parameters of the marks' INSERT, one set per distinct paper."""
    return [
        {"endpoint_id": endpoint_id, "paper_id": pid, "outbox_id": outbox_id, "delivered_at": now,
         "of_paper": pid}
        for pid in dict.fromkeys(paper_ids)
    ]  # fmt: skip


def _mark_statement(dialect: Any, *, counted: bool = True) -> Any:
    first_seen = (
        select(papers.c.first_seen).where(papers.c.id == bindparam("of_paper")).scalar_subquery()
    )
    stmt = dialect.insert(delivered_papers).values(first_seen=first_seen).on_conflict_do_nothing()
    return stmt.returning(delivered_papers.c.paper_id) if counted else stmt


_MARK = {False: _mark_statement(sqlite), True: _mark_statement(postgresql)}


def _insert_from_json() -> Any:
    """The marks of one digest as one INSERT on SQLite, its paper ids one JSON array read
    by ``json_each`` (as ``complete`` does with an array on PostgreSQL): one statement
    and one parameter set a message instead of one per paper."""
    ids = func.json_each(bindparam("b_papers", type_=Text)).table_valued("value").alias("ids")
    first_seen = select(papers.c.first_seen).where(papers.c.id == ids.c.value)
    rows = select(
        bindparam("b_endpoint", type_=Integer),
        ids.c.value,
        bindparam("b_id", type_=Integer),
        bindparam("b_now", type_=UTCDateTime()),
        first_seen.scalar_subquery(),
    ).where(true())  # an upsert's SELECT needs a WHERE, or SQLite misreads ON CONFLICT
    columns = ["endpoint_id", "paper_id", "outbox_id", "delivered_at", "first_seen"]
    return sqlite.insert(delivered_papers).from_select(columns, rows).on_conflict_do_nothing()


# For ``complete`` on SQLite, which needs no count: ``b_papers`` the ids as JSON.
RUN_INSERT = Prepared(_insert_from_json())


def params(
    endpoint_id: int, paper_ids: Iterable[str], outbox_id: int, now: datetime
) -> dict[str, Any]:
    """:data:`RUN_INSERT`'s parameters."""
    ids = json.dumps(list(dict.fromkeys(paper_ids)))
    return {"b_endpoint": endpoint_id, "b_papers": ids, "b_id": outbox_id, "b_now": now}


def prune_delivered(engine: Engine, *, before: datetime) -> int:
    """Delete delivered-paper rows older than ``before``; returns how many.

    Only recent rows matter (a paper is a candidate only if stored after the last
    digest sent), so old ones are dead weight.
    """
    with engine.begin() as conn:
        result = conn.execute(
            delete(delivered_papers).where(delivered_papers.c.delivered_at < before)
        )
    return int(result.rowcount or 0)

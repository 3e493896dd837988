"""Which outbox writes wait for the disk (every hand-over and every ``sent``), and how
many writes a message costs (one: the previous row's ``sent``, this row's hand-over and
the next row's start together).

Watched on the real send path (``send_due`` to a real SMTP sink), each outbox write seen
as the database runs it (SQLite's trace of each statement; on PostgreSQL, SQLAlchemy's
events), with the connection's own setting read inside its transaction.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from alertbot.config_sections import DeliverySettings
from alertbot.deliver import send_due
from tests.helpers.delivery import make_settings
from tests.helpers.faults import readers_due_now
from tests.servers import smtp_server

# What each step of a send sets, as the outbox's statements write it.
STEPS = {
    frozenset({"claimed_at", "phase"}): "handed_over",
    frozenset({"phase", "deadline_at"}): "started",
    frozenset(
        {"state", "sent_at", "message_id", "attempts", "last_error", "claimed_by", "phase"}
    ): "sent",
}


def _waits_for_disk(dbapi_conn: Any, dialect: str) -> bool:
    if dialect == "sqlite":
        return bool(dbapi_conn.execute("PRAGMA synchronous").fetchone()[0] == 2)  # FULL
    return bool(dbapi_conn.execute("SHOW synchronous_commit").fetchone()[0] == "on")


def _watch_outbox_writes(engine: Engine) -> list[tuple[str, bool, int]]:
    """(what the write records, whether its commit waits for the disk, how many commits
    came before it), in order. On PostgreSQL the send loop's writes are statements in
    autocommit, each its own commit; there the count is of the statements before it."""
    seen: list[tuple[str, bool, int]] = []
    commits = 0

    def statement_run(dbapi_conn: Any, statement: str) -> None:
        nonlocal commits
        if statement.strip().upper() == "COMMIT":
            commits += 1
        # An UPDATE of its own, or one of the data-modifying CTEs of PostgreSQL's
        # ``complete`` (WITH sent AS (UPDATE outbox SET ...), ... started AS (...)).
        for assignments in re.findall(r"UPDATE outbox SET (.*?) WHERE ", statement, re.I | re.S):
            step = STEPS.get(frozenset(re.findall(r"(\w+)\s*=", assignments)))
            if step is not None:
                seen.append((step, _waits_for_disk(dbapi_conn, engine.name), commits))

    if engine.name == "sqlite":
        # SQLite's own trace of what each connection runs: the send loop's writes go to
        # the driver directly (store/prepared.py), past SQLAlchemy's events.
        def checkout(dbapi_conn: Any, *_: Any) -> None:
            dbapi_conn.set_trace_callback(lambda sql: statement_run(dbapi_conn, sql))

        event.listen(engine, "checkout", checkout)
        return seen

    def before(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal commits
        statement_run(conn.connection.driver_connection, statement)
        commits += 1

    event.listen(engine, "before_cursor_execute", before)
    return seen


def _send_five_watched(tmp_path: Path, engine: Engine) -> list[tuple[str, bool, int]]:
    """Five digests sent in batches of 3 and 2; the outbox writes seen meanwhile."""
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        settings.delivery = DeliverySettings(batch_size=3, backoff_base_seconds=0)
        now = readers_due_now(engine, settings, 5)
        seen = _watch_outbox_writes(engine)
        report = send_due(engine, settings, now=lambda: now)
    assert report.counts() == {"sent": 5}
    return seen


def test_every_hand_over_and_sent_waits_for_the_disk(tmp_path: Path, engine: Engine) -> None:
    """Every hand-over (the write whose loss could send twice) and every ``sent`` waits
    for the disk: a row's ``sent`` comes with the next row's hand-over, or at once for
    the batch's last, so nothing recorded is left to a later write."""
    seen = _send_five_watched(tmp_path, engine)
    assert [durable for step, durable, _ in seen if step == "handed_over"] == [True] * 5
    assert [durable for step, durable, _ in seen if step == "sent"] == [True] * 5


def test_a_message_costs_one_write(tmp_path: Path, engine: Engine) -> None:
    """One commit a message: a row's ``sent``, the next row's hand-over and the start of
    the one after go in one transaction (SQLite) or one statement (PostgreSQL) (batches
    of 3 and 2; each batch's first start and its last ``sent`` are writes of their
    own)."""
    seen = _send_five_watched(tmp_path, engine)
    writes: dict[int, list[str]] = {}
    for step, _, commit in seen:
        writes.setdefault(commit, []).append(step)
    order = ["sent", "handed_over", "started"]  # PostgreSQL's CTEs come in another order
    assert [sorted(w, key=order.index) for w in writes.values()] == [
        ["started"],
        ["handed_over", "started"],
        ["sent", "handed_over", "started"],
        ["sent", "handed_over"],
        ["sent"],
        ["started"],
        ["handed_over", "started"],
        ["sent", "handed_over"],
        ["sent"],
    ]

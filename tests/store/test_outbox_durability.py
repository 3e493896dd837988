"""Which outbox writes wait for the disk: the hand-over always; on SQLite the rest only to
end a batch, on PostgreSQL each ``sent`` too (one statement with the next row's start).

Watched on the real send path (``send_due`` to a real SMTP sink), each outbox write seen
as the database runs it, with the connection's own setting read inside its transaction.
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


def _watch_outbox_writes(engine: Engine) -> list[tuple[str, bool]]:
    """(what the write records, whether its commit waits for the disk), in order."""
    seen: list[tuple[str, bool]] = []

    def before(conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        # An UPDATE of its own, or one of the data-modifying CTEs of PostgreSQL's
        # ``complete`` (WITH sent AS (UPDATE outbox SET ...), ... started AS (...)).
        for assignments in re.findall(r"UPDATE outbox SET (.*?) WHERE ", statement, re.I | re.S):
            step = STEPS.get(frozenset(re.findall(r"(\w+)\s*=", assignments)))
            if step is not None:
                durable = _waits_for_disk(conn.connection.driver_connection, engine.name)
                seen.append((step, durable))

    event.listen(engine, "before_cursor_execute", before)
    return seen


def test_every_hand_over_waits_for_the_disk_and_each_sent_as_its_store_needs(
    tmp_path: Path, engine: Engine
) -> None:
    """Every hand-over (the write whose loss could send twice) waits for the disk; on
    SQLite a ``sent`` followed by another message of the batch does not, and the batch's
    last ``sent`` does, so nothing recorded is left to a later write. On PostgreSQL each
    ``sent`` is one autocommit statement (with the next row's start) and waits too."""
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        settings.delivery = DeliverySettings(batch_size=3, backoff_base_seconds=0)
        now = readers_due_now(engine, settings, 5)
        seen = _watch_outbox_writes(engine)
        report = send_due(engine, settings, now=lambda: now)
    assert report.counts() == {"sent": 5}
    hand_overs = [durable for step, durable in seen if step == "handed_over"]
    sents = [durable for step, durable in seen if step == "sent"]
    assert hand_overs == [True] * 5
    if engine.name == "sqlite":
        assert sents == [False, False, True, False, True]  # batches of 3 and 2
    else:
        assert sents == [True] * 5

"""The relay's answer recorded, on both databases: by ``complete`` (one statement of
data-modifying CTEs on PostgreSQL, three statements on SQLite: the row ``sent``, its
papers marked delivered with their ``first_seen``, the next row started), or with the
next row's ``hand_over`` in the same write."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select, update

from alertbot.model import OutboxState, SendPhase
from alertbot.store import attempts, marks, outbox
from alertbot.store.schema import delivered_papers, papers
from alertbot.store.schema import outbox as outbox_table
from tests.helpers.delivery import make_settings
from tests.helpers.faults import readers_due_now

ME, OTHER = "worker-a", "worker-b"


def _claimed(engine: Engine, tmp_path: Path, n: int = 2) -> tuple[list[outbox.OutboxRow], datetime]:
    now = readers_due_now(engine, make_settings(tmp_path), n)
    rows = outbox.claim(engine, now=now, worker_id=ME, limit=n)
    assert len(rows) == n
    return rows, now


def _state(engine: Engine, row_id: int) -> dict[str, object]:
    with engine.connect() as conn:
        found = conn.execute(select(outbox_table).where(outbox_table.c.id == row_id)).one()
    return dict(found._mapping)


def _marked(engine: Engine, endpoint_id: int) -> dict[str, tuple[int, object, object]]:
    query = select(
        delivered_papers.c.paper_id,
        delivered_papers.c.outbox_id,
        delivered_papers.c.delivered_at,
        delivered_papers.c.first_seen,
    ).where(delivered_papers.c.endpoint_id == endpoint_id)
    with engine.connect() as conn:
        return {pid: (oid, at, seen) for pid, oid, at, seen in conn.execute(query)}


def _first_seen(engine: Engine, paper_id: str) -> object:
    with engine.connect() as conn:
        return conn.execute(select(papers.c.first_seen).where(papers.c.id == paper_id)).scalar()


def test_it_marks_the_row_sent_its_papers_delivered_and_starts_the_next(
    engine: Engine, tmp_path: Path
) -> None:
    (row, following), now = _claimed(engine, tmp_path)
    deadline = now + timedelta(hours=6)
    assert attempts.start(engine, attempts.NextRow(row.id, deadline), worker_id=ME)
    assert attempts.hand_over(engine, row.id, worker_id=ME, now=now).ours
    sent_at = now + timedelta(seconds=2)
    ours = attempts.complete(
        engine,
        row,
        worker_id=ME,
        now=sent_at,
        message_id="<o1@example.org>",
        paper_ids=[*row.paper_ids, row.paper_ids[0]],  # a repeat is marked once
        start_next=attempts.NextRow(following.id, deadline),
    )
    assert ours
    done = _state(engine, row.id)
    assert (done["state"], done["message_id"], done["sent_at"]) == (
        OutboxState.SENT,
        "<o1@example.org>",
        sent_at,
    )
    assert (done["attempts"], done["claimed_by"], done["phase"], done["last_error"]) == (
        row.attempts + 1,
        None,
        None,
        None,
    )
    assert _marked(engine, row.endpoint_id) == {
        pid: (row.id, sent_at, _first_seen(engine, pid)) for pid in row.paper_ids
    }
    nxt = _state(engine, following.id)
    assert (nxt["state"], nxt["phase"], nxt["deadline_at"]) == (
        OutboxState.SENDING,
        SendPhase.STARTED,
        deadline,
    )


def test_a_row_taken_over_is_left_alone_and_marks_nothing(engine: Engine, tmp_path: Path) -> None:
    """False, the row as the other worker left it, no paper marked; the next row (still
    this worker's) is started all the same."""
    (row, following), now = _claimed(engine, tmp_path)
    with engine.begin() as conn:
        conn.execute(
            update(outbox_table).where(outbox_table.c.id == row.id).values(claimed_by=OTHER)
        )
    before = _state(engine, row.id)
    deadline = now + timedelta(hours=6)
    ours = attempts.complete(
        engine,
        row,
        worker_id=ME,
        now=now,
        message_id="<o1@example.org>",
        paper_ids=row.paper_ids,
        start_next=attempts.NextRow(following.id, deadline),
    )
    assert not ours
    assert _state(engine, row.id) == before
    assert _marked(engine, row.endpoint_id) == {}
    assert _state(engine, following.id)["phase"] == SendPhase.STARTED


def test_a_mark_already_there_is_kept_and_an_unknown_handed_over_row_ends_sent(
    engine: Engine, tmp_path: Path
) -> None:
    """A row reclaimed as ``unknown`` after its hand-over is still ours to make ``sent``
    (attempts unchanged: it was counted); a paper already marked keeps its first mark."""
    (row, _), now = _claimed(engine, tmp_path)
    earlier = now - timedelta(minutes=5)
    marks.mark_delivered(engine, row.endpoint_id, row.paper_ids[:1], row.id, now=earlier)
    with engine.begin() as conn:
        conn.execute(
            update(outbox_table)
            .where(outbox_table.c.id == row.id)
            .values(state=OutboxState.UNKNOWN, phase=SendPhase.HANDED_OVER, attempts=1)
        )
    assert attempts.complete(
        engine,
        row,
        worker_id=ME,
        now=now,
        message_id=None,
        paper_ids=row.paper_ids,
    )
    done = _state(engine, row.id)
    assert (done["state"], done["attempts"], done["message_id"]) == (OutboxState.SENT, 1, None)
    found = _marked(engine, row.endpoint_id)
    assert found[row.paper_ids[0]][1] == earlier
    assert {pid: at for pid, (_, at, _) in found.items() if pid != row.paper_ids[0]} == {
        pid: now for pid in row.paper_ids[1:]
    }


def _accepted(row: outbox.OutboxRow, at: datetime) -> attempts.Accepted:
    return attempts.Accepted(row, "<o1@example.org>", row.paper_ids, at)


def test_a_hand_over_records_the_previous_rows_sent_and_starts_the_next(
    engine: Engine, tmp_path: Path
) -> None:
    """One write a message: the previous row ``sent`` with its papers marked, this row
    handed over, the next started."""
    (first, second, third), now = _claimed(engine, tmp_path, n=3)
    deadline = now + timedelta(hours=6)
    assert attempts.start(engine, attempts.NextRow(first.id, deadline), worker_id=ME)
    assert attempts.hand_over(engine, first.id, worker_id=ME, now=now).ours
    sent_at = now + timedelta(seconds=1)
    handed = attempts.hand_over(
        engine,
        second.id,
        worker_id=ME,
        now=sent_at,
        previous=_accepted(first, sent_at),
        start_next=attempts.NextRow(third.id, deadline),
    )
    assert handed == attempts.HandedOver(ours=True, previous_ours=True)
    done = _state(engine, first.id)
    assert (done["state"], done["message_id"], done["sent_at"], done["phase"]) == (
        OutboxState.SENT,
        "<o1@example.org>",
        sent_at,
        None,
    )
    assert set(_marked(engine, first.endpoint_id)) == set(first.paper_ids)
    assert _state(engine, second.id)["phase"] == SendPhase.HANDED_OVER
    assert (_state(engine, third.id)["phase"], _state(engine, third.id)["deadline_at"]) == (
        SendPhase.STARTED,
        deadline,
    )


def test_a_hand_over_of_a_row_taken_over_still_records_the_previous_sent(
    engine: Engine, tmp_path: Path
) -> None:
    """Not ours (the caller must not send it), but the previous row's 250 is recorded and
    the next row started all the same: the write is not undone for the row lost."""
    (first, second, third), now = _claimed(engine, tmp_path, n=3)
    assert attempts.hand_over(engine, first.id, worker_id=ME, now=now).ours
    with engine.begin() as conn:
        conn.execute(
            update(outbox_table).where(outbox_table.c.id == second.id).values(claimed_by=OTHER)
        )
    before = _state(engine, second.id)
    handed = attempts.hand_over(
        engine,
        second.id,
        worker_id=ME,
        now=now,
        previous=_accepted(first, now),
        start_next=attempts.NextRow(third.id, now + timedelta(hours=6)),
    )
    assert handed == attempts.HandedOver(ours=False, previous_ours=True)
    assert _state(engine, second.id) == before
    assert _state(engine, first.id)["state"] == OutboxState.SENT
    assert _state(engine, third.id)["phase"] == SendPhase.STARTED


def test_a_hand_over_says_when_the_previous_row_was_taken_over(
    engine: Engine, tmp_path: Path
) -> None:
    """The previous row another worker's meanwhile: left as it is, no paper marked, and
    the hand-over goes ahead (``previous_ours`` False, for the worker to log)."""
    (first, second), now = _claimed(engine, tmp_path)
    with engine.begin() as conn:
        conn.execute(
            update(outbox_table).where(outbox_table.c.id == first.id).values(claimed_by=OTHER)
        )
    before = _state(engine, first.id)
    handed = attempts.hand_over(
        engine, second.id, worker_id=ME, now=now, previous=_accepted(first, now)
    )
    assert handed == attempts.HandedOver(ours=True, previous_ours=False)
    assert _state(engine, first.id) == before
    assert _marked(engine, first.endpoint_id) == {}
    assert _state(engine, second.id)["phase"] == SendPhase.HANDED_OVER

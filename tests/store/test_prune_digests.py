"""Old digests go, except what the next digest starts from and what awaits an operator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select

from alertbot.model import EndpointKind, OutboxState, Profile
from alertbot.store import endpoints as endpoint_store
from alertbot.store import schema
from alertbot.store import subscribers as subs
from alertbot.store.archive import prune_digests

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
TODAY = NOW.date()


def _endpoint(engine: Engine, name: str) -> tuple[int, int]:
    sub = subs.create_subscriber(engine, name=name, now=NOW, profile=Profile(("graphs",)))
    endpoint = endpoint_store.add_endpoint(
        engine, sub.id, EndpointKind.FILE, f"/tmp/{name}", now=NOW
    )
    return sub.id, endpoint.id


def _row(engine: Engine, who: tuple[int, int], age_days: int, state: OutboxState) -> int:
    subscriber_id, endpoint_id = who
    with engine.begin() as conn:
        outbox_id = conn.execute(
            insert(schema.outbox).values(
                subscriber_id=subscriber_id,
                endpoint_id=endpoint_id,
                digest_date=TODAY - timedelta(days=age_days),
                state=state,
                attempts=1,
                next_attempt_at=NOW,
                created_at=NOW - timedelta(days=age_days),
                paper_ids=[f"p{age_days}"],
                matches='{"interests": ["graphs"], "papers": ["p1"], "scores": [1.0]}',
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(
            insert(schema.delivered_papers).values(
                endpoint_id=endpoint_id,
                paper_id=f"p{age_days}",
                outbox_id=outbox_id,
                delivered_at=NOW - timedelta(days=age_days),
            )
        )
    return int(outbox_id)


def _left(engine: Engine) -> tuple[set[int], set[int]]:
    with engine.connect() as conn:
        rows = set(conn.execute(select(schema.outbox.c.id)).scalars())
        marks = set(conn.execute(select(schema.delivered_papers.c.outbox_id)).scalars())
    return rows, marks


def test_old_digests_done_with_go_with_their_marks_in_batches(engine: Engine) -> None:
    """Sent, dead and empty digests before the cut are deleted, a few rows a transaction;
    their papers' marks go with them."""
    reader = _endpoint(engine, "reader")
    old = [
        _row(engine, reader, 400, OutboxState.SENT),
        _row(engine, reader, 380, OutboxState.DEAD),
        _row(engine, reader, 370, OutboxState.EMPTY),
    ]
    recent = _row(engine, reader, 300, OutboxState.SENT)
    newest = _row(engine, reader, 1, OutboxState.SENT)
    assert prune_digests(engine, before=TODAY - timedelta(days=365), batch=2) == 3
    assert _left(engine) == ({recent, newest}, {recent, newest})
    assert not set(old) & _left(engine)[0]
    assert prune_digests(engine, before=TODAY - timedelta(days=365)) == 0  # idempotent


def test_an_endpoints_newest_digest_stays_however_old(engine: Engine) -> None:
    """A reader who paused for two years keeps the last digest their next one starts
    from; another reader's newer digests do not count as theirs."""
    paused, active = _endpoint(engine, "paused"), _endpoint(engine, "active")
    last = _row(engine, paused, 730, OutboxState.SENT)
    gone = _row(engine, active, 700, OutboxState.SENT)
    current = _row(engine, active, 0, OutboxState.EMPTY)
    assert prune_digests(engine, before=TODAY - timedelta(days=365)) == 1
    rows, _ = _left(engine)
    assert rows == {last, current}
    assert gone not in rows


def test_digests_in_doubt_or_in_flight_are_never_pruned(engine: Engine) -> None:
    """An unknown digest may have reached the reader and waits for an operator; pending,
    sending and failed ones are still being delivered."""
    reader = _endpoint(engine, "reader")
    kept = {
        _row(engine, reader, 400 + n, state)
        for n, state in enumerate(
            (OutboxState.UNKNOWN, OutboxState.PENDING, OutboxState.SENDING, OutboxState.FAILED)
        )
    }
    newest = _row(engine, reader, 1, OutboxState.SENT)
    assert prune_digests(engine, before=TODAY - timedelta(days=365)) == 0
    assert _left(engine)[0] == {*kept, newest}

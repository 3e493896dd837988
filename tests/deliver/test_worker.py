"""The outbox on SQLite and PostgreSQL: claims, leases, backoff, exactly-once delivery."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from alertbot.config_sections import DeliverySettings
from alertbot.deliver import queue_due, send_due
from alertbot.deliver.file import FileChannel
from alertbot.deliver.liveness import lost_workers
from alertbot.deliver.outcome import backoff_seconds
from alertbot.model import EndpointKind, OutboxState, Paper, SendPhase
from alertbot.store import attempts as steps
from alertbot.store import connect, deliveries
from alertbot.store import outbox as rows
from alertbot.store import subscribers as subscriber_store
from alertbot.store.deliveries import delivered_paper_ids
from alertbot.store.reclaim import reclaim
from tests.helpers.delivery import NOW, make_settings
from tests.helpers.races import Rival, starts
from tests.servers import smtp_server


def test_it_queues_one_row_per_endpoint_and_date(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Queueing twice at the same moment adds nothing; the row holds the matched papers."""
    stock()
    subscribe("Reader", "reader@example.org", interests=("diffusion",))
    settings = make_settings(tmp_path)
    assert queue_due(engine, settings, now=NOW) == 1
    assert queue_due(engine, settings, now=NOW + timedelta(minutes=1)) == 0
    (row,) = deliveries.list_rows(engine)
    assert row.state == "pending"
    assert sorted(row.paper_ids) == ["2603.00000", "2603.00003"]  # the two diffusion topics


def test_it_records_a_day_without_matches_as_empty(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """No match: an 'empty' row (so the next tick does not rebuild it) and nothing to send."""
    stock()
    subscribe("Reader", "reader@example.org", interests=("cryptography",))
    settings = make_settings(tmp_path)
    assert queue_due(engine, settings, now=NOW) == 0
    assert [r.state for r in deliveries.list_rows(engine)] == ["empty"]
    assert send_due(engine, settings, now=lambda: NOW).deliveries == []


def test_it_lets_only_one_claimer_win_a_row(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Two workers claiming the same rows at once get disjoint sets covering them all."""
    stock()
    for n in range(10):
        subscribe(f"Reader {n}", f"reader{n}@example.org")
    queue_due(engine, make_settings(tmp_path), now=NOW)
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        barrier.wait()
        claimed[name] = [r.id for r in rows.claim(engine, now=NOW, worker_id=name, limit=10)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(claimed["a"]).isdisjoint(claimed["b"])
    assert len(claimed["a"]) + len(claimed["b"]) == 10


def test_a_claim_overtaken_by_another_still_takes_rows_while_rows_remain(
    tmp_path: Path,
    db_url: str,
    engine: Engine,
    stock: Callable[..., list[Paper]],
    subscribe: Any,
) -> None:
    """Worker B has picked its candidates; before it marks them, worker A claims. B must
    still come back with rows, not with none: the send loop ends on an empty claim, and
    ``bench deliver -w 2`` on SQLite saw its second worker quit after one claim, the
    other sending all 3,000 digests alone. On SQLite the claim read its candidates
    outside its write transaction, so A could take all of them in between."""
    stock()
    for n in range(20):
        subscribe(f"Reader {n}", f"reader{n}@example.org")
    queue_due(engine, make_settings(tmp_path), now=NOW)
    other = connect(db_url)  # worker A's own connections, as another process has
    # With B's write lock held A waits for it (SQLite) or skips B's rows (PostgreSQL);
    # without, A's claim completes in between.
    a = Rival(lambda: [r.id for r in rows.claim(other, now=NOW, worker_id="a", limit=10)])
    try:
        with a.at(engine, starts("UPDATE")):
            b_claimed = [r.id for r in rows.claim(engine, now=NOW, worker_id="b", limit=10)]
        a_claimed = a.result()
    finally:
        other.dispose()
    assert len(b_claimed) == 10
    assert len(a_claimed) == 10
    assert set(a_claimed).isdisjoint(b_claimed)


@pytest.mark.parametrize(
    ("phase", "state", "attempts"),
    [
        (None, OutboxState.PENDING, 0),
        (SendPhase.STARTED, OutboxState.PENDING, 1),
        (SendPhase.HANDED_OVER, OutboxState.UNKNOWN, 1),
    ],
    ids=["claimed", "started", "handed-over"],
)
def test_it_reclaims_a_lost_workers_row_by_how_far_its_attempt_got(
    tmp_path: Path,
    engine: Engine,
    stock: Callable[..., list[Paper]],
    subscribe: Any,
    phase: SendPhase | None,
    state: OutboxState,
    attempts: int,
) -> None:
    """Past its lease, a row never tried goes back to pending for free, one being tried is
    retried with the attempt charged, and one handed over to the relay becomes unknown."""
    stock()
    subscribe("Reader", "reader@example.org")
    queue_due(engine, make_settings(tmp_path), now=NOW)
    (row,) = rows.claim(engine, now=NOW, worker_id="dead-worker", limit=5)
    if phase is not None:
        first = steps.NextRow(row.id, NOW + timedelta(days=1))
        steps.start(engine, first, worker_id="dead-worker")
    if phase == SendPhase.HANDED_OVER:
        assert steps.hand_over(engine, row.id, worker_id="dead-worker", now=NOW).ours
    assert reclaim(engine, now=NOW + timedelta(seconds=599), lease_seconds=600) == 0
    assert reclaim(engine, now=NOW + timedelta(seconds=601), lease_seconds=600) == 1
    (after,) = deliveries.list_rows(engine)
    assert (after.state, after.attempts) == (state, attempts)


def test_it_reclaims_the_rows_of_a_local_worker_that_no_longer_exists_at_once(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A worker id naming a process of this host that has exited does not wait for the
    lease: its rows are taken back by the next run (a systemd restart, the next cron)."""
    stock()
    subscribe("Reader", "inbox", kind=EndpointKind.FILE)
    queue_due(engine, make_settings(tmp_path), now=NOW)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    holder = f"{socket.gethostname()}:{gone.stdout.strip()}"
    rows.claim(engine, now=NOW, worker_id=holder, limit=5)
    assert lost_workers(
        [holder, f"{socket.gethostname()}:{os.getpid()}", "elsewhere:1"], me="me"
    ) == [holder]
    report = send_due(engine, make_settings(tmp_path), now=lambda: NOW)
    assert (report.reclaimed, report.counts()) == (1, {"sent": 1})


def test_it_waits_for_the_backoff_before_retrying(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A 451 leaves the row failed until next_attempt_at, half to all of the base delay."""
    stock()
    subscribe("Reader", "reader@example.org")
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        settings.delivery = DeliverySettings(backoff_base_seconds=60)
        sink.behaviour.data_replies.append("451 4.3.0 later")
        queue_due(engine, settings, now=NOW)
        first = send_due(engine, settings, now=lambda: NOW)
        (failed,) = deliveries.list_rows(engine)
        delay = (failed.next_attempt_at - NOW).total_seconds()
        early = send_due(engine, settings, now=lambda: NOW + timedelta(seconds=delay - 1))
        due = send_due(engine, settings, now=lambda: NOW + timedelta(seconds=delay))
    assert [d.state for d in first.deliveries] == ["failed"]
    assert 30 <= delay <= 60
    assert (early.deliveries, due.counts()) == ([], {"sent": 1})


@given(
    attempts=st.integers(min_value=1, max_value=40),
    jitter=st.floats(min_value=0, max_value=1),
)
def test_it_keeps_the_backoff_within_half_and_all_of_the_capped_exponential(
    attempts: int, jitter: float
) -> None:
    """Backoff is in [d/2, d] for d = min(cap, base * 2^(attempts-1))."""
    full = min(3600.0, 60.0 * 2 ** (attempts - 1))
    delay = backoff_seconds(attempts, base=60, cap=3600, jitter=jitter)
    assert full / 2 <= delay <= full


def test_it_gives_up_after_retry_hours_and_rolls_papers_into_the_next_digest(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """With ``delivery.retry_hours``, a digest refused for longer is dead, delivers
    nothing, and its papers come in the next day's digest."""
    stock()
    reader = subscribe("Reader", "reader@example.org")
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        settings.delivery = DeliverySettings(backoff_base_seconds=600, retry_hours=1)
        sink.behaviour.data_replies.extend(["451 busy"] * 100)
        queue_due(engine, settings, now=NOW)
        for minutes in range(0, 70, 10):
            at = NOW + timedelta(minutes=minutes)
            send_due(engine, settings, now=lambda: at)  # noqa: B023 (called at once)
        (dead,) = deliveries.list_rows(engine)
        assert dead.state == "dead"
        assert delivered_paper_ids(engine, reader.endpoints[0].id) == set()
        sink.behaviour.data_replies.clear()
        tomorrow = NOW + timedelta(days=1)
        queue_due(engine, settings, now=tomorrow)
        second = send_due(engine, settings, now=lambda: tomorrow)
        (msg,) = sink.wait_for(1)
    assert second.counts() == {"sent": 1}
    assert delivered_paper_ids(engine, reader.endpoints[0].id) == {"2603.00000", "2603.00003"}
    assert "Diffusion models for protein design" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_it_finishes_the_message_in_flight_and_releases_the_rest_on_stop(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """``stop`` set during a batch: one digest sent, the others back to pending untouched."""
    stock()
    for n in range(3):
        subscribe(f"Reader {n}", "inbox", kind=EndpointKind.FILE)
    settings = make_settings(tmp_path)
    stop = threading.Event()

    class StoppingChannel(FileChannel):
        def send(self, *args: Any, **kwargs: Any) -> str | None:
            stop.set()  # as if SIGTERM arrived while this message was being written
            return super().send(*args, **kwargs)

    queue_due(engine, settings, now=NOW)
    channel = StoppingChannel(tmp_path / "out", from_address="a@example.org")
    report = send_due(
        engine, settings, now=lambda: NOW, channels={EndpointKind.FILE: channel}, stop=stop
    )
    assert report.counts() == {"sent": 1}
    assert sorted(r.state for r in deliveries.list_rows(engine)) == ["pending", "pending", "sent"]
    assert {r.attempts for r in deliveries.list_rows(engine) if r.state == "pending"} == {0}


def test_a_database_failure_mid_batch_puts_the_untouched_rows_back_at_once(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """The error propagates; the row in hand waits for its lease (it may have been sent),
    the rows not yet touched are pending again instead of stuck in 'sending'."""
    stock()
    for n in range(3):
        subscribe(f"Reader {n}", "inbox", kind=EndpointKind.FILE)
    settings = make_settings(tmp_path)

    class FailingChannel(FileChannel):
        def send(self, *args: Any, **kwargs: Any) -> str | None:
            raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))

    queue_due(engine, settings, now=NOW)
    channel = FailingChannel(tmp_path / "out", from_address="a@example.org")
    with pytest.raises(OperationalError):
        send_due(engine, settings, now=lambda: NOW, channels={EndpointKind.FILE: channel})
    assert sorted(r.state for r in deliveries.list_rows(engine)) == [
        "pending",
        "pending",
        "sending",
    ]


def test_a_reader_paused_during_a_long_drain_gets_nothing_more(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Subscribers are read per batch: a pause made while batch 1 sends stops batch 2."""
    stock()
    first = subscribe("First", "inbox", kind=EndpointKind.FILE)
    second = subscribe("Second", "inbox", kind=EndpointKind.FILE)
    settings = make_settings(tmp_path)
    settings.delivery = DeliverySettings(backoff_base_seconds=0, batch_size=1)

    class PausingChannel(FileChannel):
        def send(self, *args: Any, **kwargs: Any) -> str | None:
            # The other reader presses "pause" while this digest is being sent.
            subscriber_store.update_subscriber(engine, second.id, now=NOW, active=False)
            return super().send(*args, **kwargs)

    queue_due(engine, settings, now=NOW)
    channel = PausingChannel(tmp_path / "out", from_address="a@example.org")
    report = send_due(engine, settings, now=lambda: NOW, channels={EndpointKind.FILE: channel})
    states = {d.subscriber_id: d.state for d in report.deliveries}
    assert states == {first.id: "sent", second.id: "dead"}


def test_it_never_sends_a_row_twice_with_two_concurrent_workers(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Two workers draining one outbox at once: every digest arrives exactly once."""
    stock()
    n = 20
    for i in range(n):
        subscribe(f"Reader {i}", f"reader{i}@example.org")
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        settings.delivery = DeliverySettings(batch_size=3, backoff_base_seconds=0)
        queue_due(engine, settings, now=NOW)
        reports: dict[str, Any] = {}

        def worker(name: str) -> None:
            reports[name] = send_due(engine, settings, now=lambda: NOW, worker_id=name)

        threads = [threading.Thread(target=worker, args=(w,)) for w in ("w1", "w2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sink.wait_for(n)
        per_recipient = Counter(rcpt for _, rcpts in sink.envelopes for rcpt in rcpts)
    by_worker = {name: r.counts().get("sent", 0) for name, r in reports.items()}
    print(
        f"\n[{engine.dialect.name}] two workers: sent by worker {by_worker}, "
        f"received {len(sink.messages)}, distinct recipients {len(per_recipient)}, "
        f"max per recipient {max(per_recipient.values())}"
    )
    assert sum(by_worker.values()) == n
    assert len(per_recipient) == n
    assert set(per_recipient.values()) == {1}

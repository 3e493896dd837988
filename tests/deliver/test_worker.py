"""The outbox on SQLite and PostgreSQL: claims, leases, backoff, exactly-once delivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
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

from alertbot.config import DeliverySettings
from alertbot.deliver import queue_due, send_due
from alertbot.deliver.file import FileChannel
from alertbot.model import EndpointKind, OutboxState, Paper
from alertbot.store import deliveries
from alertbot.store import outbox as rows
from alertbot.store import subscribers as subscriber_store
from alertbot.store.deliveries import delivered_paper_ids
from tests.helpers import REPO
from tests.helpers.delivery import NOW, make_settings
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


def test_it_reclaims_rows_whose_worker_died(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A row left 'sending' past the lease goes back to pending with the attempt counted."""
    stock()
    subscribe("Reader", "reader@example.org")
    queue_due(engine, make_settings(tmp_path), now=NOW)
    rows.claim(engine, now=NOW, worker_id="dead-worker", limit=5)
    assert (
        rows.reclaim_expired(
            engine, now=NOW + timedelta(seconds=599), lease_seconds=600, max_attempts=5
        )
        == 0
    )
    assert (
        rows.reclaim_expired(
            engine, now=NOW + timedelta(seconds=601), lease_seconds=600, max_attempts=5
        )
        == 1
    )
    (after,) = deliveries.list_rows(engine)
    assert (after.state, after.attempts, after.claimed_by) == ("pending", 1, None)


def test_it_waits_for_the_backoff_before_retrying(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A failed row is not claimable before next_attempt_at, and is after it."""
    stock()
    subscribe("Reader", "reader@example.org")
    queue_due(engine, make_settings(tmp_path), now=NOW)
    (row,) = rows.claim(engine, now=NOW, worker_id="w", limit=5)
    state = rows.fail(
        engine,
        row,
        "451 later",
        worker_id="w",
        now=NOW,
        max_attempts=5,
        base_seconds=60,
        max_seconds=3600,
    )
    assert state == "failed"
    (failed,) = deliveries.list_rows(engine)
    delay = (failed.next_attempt_at - NOW).total_seconds()
    assert 30 <= delay <= 60
    assert rows.claim(engine, now=NOW + timedelta(seconds=delay - 1), worker_id="w", limit=5) == []
    assert len(rows.claim(engine, now=NOW + timedelta(seconds=delay), worker_id="w", limit=5)) == 1


@given(
    attempts=st.integers(min_value=1, max_value=40),
    jitter=st.floats(min_value=0, max_value=1),
)
def test_it_keeps_the_backoff_within_half_and_all_of_the_capped_exponential(
    attempts: int, jitter: float
) -> None:
    """Backoff is in [d/2, d] for d = min(cap, base * 2^(attempts-1))."""
    full = min(3600.0, 60.0 * 2 ** (attempts - 1))
    delay = rows.backoff_seconds(attempts, base=60, cap=3600, jitter=jitter)
    assert full / 2 <= delay <= full


def test_it_gives_up_after_max_attempts_and_rolls_papers_into_the_next_digest(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A digest that ends dead delivers nothing; its papers come in the next day's digest."""
    stock()
    reader = subscribe("Reader", "reader@example.org")
    settings = make_settings(tmp_path)
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        sink.behaviour.data_replies.extend(["451 busy"] * settings.delivery.max_attempts)
        queue_due(engine, settings, now=NOW)
        first = send_due(engine, settings, now=lambda: NOW)
        assert [d.state for d in first.deliveries][-1] == "dead"
        assert delivered_paper_ids(engine, reader.endpoints[0].id) == set()
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
    settings.delivery = DeliverySettings(backoff_base_seconds=0, max_attempts=4, batch_size=1)

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


WORKER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timedelta
    from alertbot.config import DeliverySettings, Settings, SmtpSettings
    from alertbot.deliver import send_due
    from alertbot.store import connect

    url, host, port, start, worker_id = sys.argv[1:6]
    t0, base = time.monotonic(), datetime.fromisoformat(start)
    settings = Settings(
        data_dir="data", secret_key="test-secret-key-0123456789",
        smtp=SmtpSettings(host=host, port=int(port), security="none", timeout_seconds=10),
        delivery=DeliverySettings(batch_size=50, lease_seconds=60),
    )
    report = send_due(
        connect(url), settings, worker_id=worker_id,
        now=lambda: base + timedelta(seconds=time.monotonic() - t0),
    )
    print(report.reclaimed, report.counts().get("sent", 0))
    """
)


def test_it_delivers_every_digest_once_when_a_worker_is_killed_mid_batch(
    tmp_path: Path,
    engine: Engine,
    db_url: str,
    stock: Callable[..., list[Paper]],
    subscribe: Any,
) -> None:
    """SIGKILL mid-batch, restart after the lease: every digest received once, none lost.

    The sink answers the final dot after 0.6 s; the worker is killed about 0.2 s into
    that wait (0.2 s after the previous message arrived), never inside the short window
    between the server's 250 and the commit of 'sent'. The message in flight was not
    accepted (aiosmtpd drops it with the connection), so the restarted worker, which
    reclaims the rows whose lease expired, must send it and the rest exactly once.
    """
    stock()
    n = 6
    for i in range(n):
        subscribe(f"Reader {i}", f"reader{i}@example.org")
    queue_due(engine, make_settings(tmp_path), now=NOW)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with smtp_server() as sink:
        sink.behaviour.hang_after_data = 0.6
        args = [sys.executable, str(script), db_url, sink.host, str(sink.port)]
        first = subprocess.Popen([*args, NOW.isoformat(), "first"], env=env, stdout=subprocess.PIPE)
        try:
            sink.wait_for(2, timeout=30)
            time.sleep(0.2)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        before_restart = len(sink.messages)
        states = Counter(r.state for r in deliveries.list_rows(engine))
        sink.behaviour.hang_after_data = 0.0
        after_lease = (NOW + timedelta(seconds=120)).isoformat()
        second = subprocess.run(
            [*args, after_lease, "second"], env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 0, second.stderr
        sink.wait_for(n)
        time.sleep(0.2)  # anything extra (a duplicate) would have arrived by now
        per_recipient = Counter(rcpt for _, rcpts in sink.envelopes for rcpt in rcpts)
    reclaimed, sent_after = (int(x) for x in second.stdout.split())
    print(
        f"\n[{engine.dialect.name}] kill test: {n} digests; received before SIGKILL "
        f"{before_restart}; rows at kill {dict(states)}; restarted worker reclaimed "
        f"{reclaimed}, sent {sent_after}; received in total {len(sink.messages)}; "
        f"max per recipient {max(per_recipient.values())}"
    )
    assert states[OutboxState.SENDING] == n - before_restart
    assert before_restart + sent_after == n
    assert len(per_recipient) == n, "a digest was lost"
    assert set(per_recipient.values()) == {1}, "a digest was delivered twice"
    assert Counter(r.state for r in deliveries.list_rows(engine)) == {"sent": n}

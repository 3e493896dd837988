"""`alertbot send` killed and stopped by real signals: no digest lost, none doubled.

Each test runs the real command in a process of its own against a real SMTP sink and
a real store, and acts at an exact instant through the sink's ``on_data`` hook (when a
final dot arrives) or at a random one. The outcome is tallied per reader: exactly one
digest received, or an ``unknown`` row telling the operator it may have arrived.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from alertbot.deliver import send_due
from alertbot.model import OutboxState
from alertbot.store import deliveries
from tests.helpers.delivery import make_settings
from tests.helpers.faults import kill, readers_due_now, start_send, tally, wait_until, write_config
from tests.servers import SmtpSink, smtp_server


def _recipients(sink: SmtpSink) -> list[str]:
    with sink.lock:
        return [rcpt for _, rcpts in sink.envelopes for rcpt in rcpts]


def _signal_at_dot(
    sink: SmtpSink, nth: int, process: list[subprocess.Popen[str]], sig: int
) -> None:
    """Send ``sig`` to the sending process when the ``nth`` final dot arrives."""
    dots = 0

    def on_data() -> None:
        nonlocal dots
        dots += 1
        if dots == nth:
            os.kill(process[0].pid, sig)

    sink.behaviour.on_data = on_data


def test_a_worker_killed_after_the_final_dot_leaves_that_row_unknown_and_one_charged(
    tmp_path: Path, engine: Engine, db_url: str
) -> None:
    """SIGKILL once the relay has the third message but before its reply is recorded:
    that row ends ``unknown`` (never resent); every other row is delivered exactly once.
    The fourth was started by the third's hand-over (one write a message), so it is
    charged the attempt it never made; the rows after it were never tried and cost
    nothing."""
    n = 8
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        now = readers_due_now(engine, settings, n)
        config = write_config(
            tmp_path / "alertbot.toml", database_url=db_url, smtp=(sink.host, sink.port)
        )
        process: list[subprocess.Popen[str]] = []
        _signal_at_dot(sink, 3, process, signal.SIGKILL)
        process.append(start_send(config))
        process[0].communicate(timeout=30)  # killed by the hook
        assert process[0].returncode == -signal.SIGKILL
        sink.behaviour.on_data = None
        after_lease = now + timedelta(seconds=settings.delivery.lease_seconds + 60)
        send_due(engine, settings, now=lambda: after_lease)
        result = tally(engine, _recipients(sink))
    print(f"\n[{engine.dialect.name}] SIGKILL after the third final dot: {result.line()}")
    assert (result.lost, result.duplicates, len(result.unknown)) == ([], [], 1)
    rows = sorted(deliveries.list_rows(engine, limit=n), key=lambda r: r.id)
    assert [r.state for r in rows[:4]] == ["sent", "sent", "unknown", "sent"]
    assert [r.attempts for r in rows] == [1, 1, 1, 2, 1, 1, 1, 1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_finishes_the_digest_in_flight_and_releases_the_rest(
    tmp_path: Path, sqlite_engine: Engine, sqlite_url: str, sig: signal.Signals
) -> None:
    """SIGTERM (cron, ``timeout``, systemd) or Ctrl-C while the relay holds the second
    message: its 250 is recorded as sent, the rest of the batch goes back to pending with
    no attempt charged, and `send` exits 128 + the signal number."""
    n = 6
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        now = readers_due_now(sqlite_engine, settings, n)
        config = write_config(
            tmp_path / "alertbot.toml", database_url=sqlite_url, smtp=(sink.host, sink.port)
        )
        process: list[subprocess.Popen[str]] = []
        _signal_at_dot(sink, 2, process, sig)
        sink.behaviour.hang_after_data = 0.1  # the signal lands while the client waits
        process.append(start_send(config))
        # The whole run, start-up included (a few seconds alone; the bound allows a
        # loaded machine running the suite in parallel).
        _, stderr = process[0].communicate(timeout=45)
        assert process[0].returncode == 128 + sig, stderr
        rows = deliveries.list_rows(sqlite_engine, limit=n)
        assert sorted(r.state for r in rows) == ["pending"] * (n - 2) + ["sent"] * 2
        assert {r.attempts for r in rows if r.state == OutboxState.PENDING} == {0}
        sink.behaviour = type(sink.behaviour)()
        send_due(sqlite_engine, settings, now=lambda: now)
        result = tally(sqlite_engine, _recipients(sink))
    assert (result.lost, result.duplicates, result.unknown) == ([], [], [])


def _run_until_killed(config: Path, sink: SmtpSink, rng: random.Random, *, mode: str) -> bool:
    """One `alertbot send`, SIGKILLed after a few of its messages (``mode`` "few") or at a
    random instant once it is sending ("random"); False if it finished first."""
    before = len(_recipients(sink))
    process = start_send(config)
    if mode == "few":
        few = rng.randint(2, 5)
        wait_until(
            lambda: len(_recipients(sink)) >= before + few or process.poll() is not None,
            timeout=20,
        )
    else:
        wait_until(
            lambda: len(_recipients(sink)) > before or process.poll() is not None, timeout=20
        )
        wait_until(lambda: process.poll() is not None, timeout=rng.uniform(0, 0.15))
    finished = process.poll() is not None
    kill(process)
    return not finished


def test_repeated_sigkills_never_lose_or_double_a_digest(
    tmp_path: Path, engine: Engine, db_url: str
) -> None:
    """`alertbot send` SIGKILLed again and again, after a few messages or at a random
    instant, and restarted until the outbox is drained: every reader gets exactly one
    digest or has an ``unknown`` row, and there are no more unknown rows than kills."""
    n, max_kills = 40, 4
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    kills = 0
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        readers_due_now(engine, settings, n)
        config = write_config(
            tmp_path / "alertbot.toml",
            database_url=db_url,
            smtp=(sink.host, sink.port),
            batch_size=20,
        )
        for run in range(max_kills):
            if not _run_until_killed(config, sink, rng, mode=("few", "random")[run % 2]):
                break  # drained before this kill
            kills += 1
        last = start_send(config)
        _, stderr = last.communicate(timeout=60)
        result = tally(engine, _recipients(sink))
    print(
        f"\n[{engine.dialect.name}] {kills} SIGKILLs (seed {seed}), restarted until drained: "
        f"{result.line()}"
    )
    assert last.returncode in (0, 1), stderr
    assert result.lost == [], "a digest was lost"
    assert result.duplicates == [], "a digest was delivered twice"
    assert len(result.unknown) <= kills
    assert set(result.states.values()) <= {OutboxState.SENT, OutboxState.UNKNOWN}

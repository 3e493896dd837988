"""Relays that are down or silent: digests wait for them and arrive once.

Time is the injected clock here (a dispatcher tick every few minutes of it), so hours
of outage take milliseconds; the relay itself is real: a closed port, a server that
accepts TCP and never speaks, an SMTP sink that refuses with 451 and later reopens.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.config_sections import DeliverySettings
from alertbot.deliver import queue_due, send_due
from alertbot.model import OutboxState, Paper
from alertbot.store import deliveries
from alertbot.store.deliveries import delivered_paper_ids
from tests.helpers.delivery import NOW, make_settings
from tests.helpers.faults import readers_due_now, tally, wait_until
from tests.servers import free_port, silent_server, smtp_server


class NoJitter(random.Random):
    """Every backoff at the low end of its jitter range."""

    def random(self) -> float:
        return 0.0


def _settings(tmp_path: Path, port: int, **delivery: Any) -> Settings:
    settings = make_settings(
        tmp_path, host="127.0.0.1", port=port, security="none", timeout_seconds=0.3
    )
    settings.delivery = DeliverySettings(
        backoff_base_seconds=60, backoff_max_seconds=1800, **delivery
    )
    return settings


def test_a_relay_closed_for_hours_then_reopened_gets_every_digest_once(
    tmp_path: Path, engine: Engine
) -> None:
    """The relay's port is closed for three hours of dispatcher ticks (the old give-up
    time was half an hour), then a relay listens there again: nothing died meanwhile,
    and every reader receives exactly one digest."""
    port = free_port()
    settings = _settings(tmp_path, port)
    start = readers_due_now(engine, settings, 10, now=NOW)  # due again tomorrow 00:00
    ticks = [start + timedelta(minutes=10 * i) for i in range(3 * 6)]
    for tick in ticks:
        send_due(engine, settings, now=lambda: tick)  # noqa: B023 (called at once)
    during = {r.state for r in deliveries.list_rows(engine)}
    with smtp_server(port=port) as sink:
        for i in range(1, 12):
            tick = ticks[-1] + timedelta(minutes=10 * i)
            send_due(engine, settings, now=lambda: tick)  # noqa: B023
        result = tally(engine, [r for _, rcpts in sink.envelopes for r in rcpts])
    print(f"\n[{engine.dialect.name}] relay closed 3 h then reopened: {result.line()}")
    assert OutboxState.DEAD not in during
    assert (result.lost, result.duplicates, result.unknown) == ([], [], [])
    assert set(result.states.values()) == {OutboxState.SENT}


def test_a_silent_relay_stops_the_batch_after_a_few_timeouts(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    """A relay that accepts TCP and never speaks: a batch of 200 stops after
    ``breaker_failures`` timeouts, not 200; the untried rows are pending with no attempt
    charged, and the next run leaves the relay alone until its backoff is over."""
    with silent_server() as relay:
        settings = _settings(tmp_path, relay.port, breaker_failures=3)
        now = readers_due_now(sqlite_engine, settings, 200)
        stop = threading.Event()
        worker = threading.Thread(
            target=send_due,
            args=(sqlite_engine, settings),
            kwargs={"now": lambda: now, "stop": stop},
            daemon=True,
        )
        worker.start()
        # Bounded either way: at most 10 timeouts are waited for, then the run is stopped.
        wait_until(lambda: relay.connections >= 10 or not worker.is_alive(), timeout=15)
        stop.set()
        worker.join(timeout=10)
        first = relay.connections
        send_due(sqlite_engine, settings, now=lambda: now + timedelta(seconds=20))
        while_open = relay.connections - first
        rows = deliveries.list_rows(sqlite_engine, limit=500)
    states = {state: sum(r.state == state for r in rows) for state in {r.state for r in rows}}
    print(f"\nsilent relay, 200 digests: {first} connections, rows {states}")
    assert first == 3
    assert while_open == 0
    assert states == {OutboxState.FAILED: 3, OutboxState.PENDING: 197}
    assert {r.attempts for r in rows if r.state == OutboxState.PENDING} == {0}


def test_a_digest_refused_until_its_deadline_dies_and_its_papers_roll_into_the_next(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A relay answering 451 all day: the digest is retried until the reader's next digest
    is due (08:00 the next day), ends dead before then, and the next digest, queued at
    its usual time, carries its papers."""
    stock()
    reader = subscribe("Reader", "reader@example.org")
    deadline = NOW.replace(hour=8, minute=0) + timedelta(days=1)
    with smtp_server() as sink:
        settings = _settings(tmp_path, sink.port)
        sink.behaviour.data_replies.extend(["451 4.3.0 try later"] * 1000)
        queue_due(engine, settings, now=NOW)
        # A tick an hour (the backoff is capped at 30 minutes, so each one retries), then
        # every two minutes near the end, as the dispatcher would.
        ticks = [NOW + timedelta(hours=h) for h in range(22)]
        ticks += [deadline - timedelta(minutes=m) for m in range(30, 0, -2)]
        states = {}
        for tick in sorted(set(ticks)):
            # The shortest jitter, so where the retries fall between the ticks is known.
            send_due(engine, settings, now=lambda: tick, rng=NoJitter())  # noqa: B023
            states[tick] = deliveries.list_rows(engine)[0]
        sink.behaviour.data_replies.clear()
        tomorrow = NOW + timedelta(days=1)  # the dispatcher's order: queue, then send
        queue_due(engine, settings, now=tomorrow)
        send_due(engine, settings, now=lambda: tomorrow)
        sink.wait_for(1)
    dead, newest = sorted(deliveries.list_rows(engine), key=lambda r: r.id)
    late = states[NOW + timedelta(hours=20)]
    print(f"\n[{engine.dialect.name}] 451 for a day: {dead.attempts} attempts, then {dead.state}")
    assert (late.state, late.attempts > 6) == (OutboxState.FAILED, True)
    assert dead.state == OutboxState.DEAD
    assert "deadline" in (dead.last_error or "")
    assert (newest.state, sorted(newest.paper_ids)) == ("sent", sorted(dead.paper_ids))
    assert delivered_paper_ids(engine, reader.endpoints[0].id) == set(dead.paper_ids)

"""A row's 250 rides in the next row's hand-over (one write a message); whenever no
hand-over follows straight away, it is recorded at once, so no acceptance waits on a
failure, a drop or an interruption.

Each case sends three digests to a real SMTP sink on both stores and makes the second
go another way than a hand-over: refused by the relay, dropped before it is built,
its render failing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from alertbot.deliver import queue_due, send_due
from alertbot.deliver.file import FileChannel
from alertbot.deliver.report import Delivery
from alertbot.model import Digest, EndpointKind
from alertbot.render import Renderer
from alertbot.render.email import RenderedEmail
from alertbot.store import attempts, deliveries
from alertbot.store import subscribers as subscriber_store
from tests.helpers.delivery import NOW, make_settings
from tests.helpers.faults import readers_due_now
from tests.servers import smtp_server


def _states(engine: Engine) -> list[str]:
    return [r.state for r in sorted(deliveries.list_rows(engine, limit=10), key=lambda r: r.id)]


def _seen_after_each(engine: Engine) -> tuple[list[list[str]], Callable[[Delivery], None]]:
    """The rows' states as each outcome is reported (``send_due``'s ``progress``)."""
    seen: list[list[str]] = []
    return seen, lambda _delivery: seen.append(_states(engine))


def test_a_250_before_a_refused_recipient_is_recorded(tmp_path: Path, engine: Engine) -> None:
    """The relay refuses the second digest's recipient (before any hand-over): the first
    row's 250 is written then, the second fails, the third is sent."""
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        now = readers_due_now(engine, settings, 3)

        def refuse_the_next_recipient() -> None:
            if not sink.behaviour.rcpt_replies and sink.refused == 0:
                sink.behaviour.rcpt_replies = deque(["550 5.1.1 no such user"])
            sink.behaviour.on_data = None

        sink.behaviour.on_data = refuse_the_next_recipient
        seen, progress = _seen_after_each(engine)
        send_due(engine, settings, now=lambda: now, progress=progress)
    # Once the second is refused, the first is already sent: not left to the third.
    assert seen[1][:2] == ["sent", "dead"]
    assert _states(engine) == ["sent", "dead", "sent"]


def test_a_250_before_a_dropped_row_is_recorded(tmp_path: Path, engine: Engine) -> None:
    """The second reader paused since the digest was queued: their row is dropped
    without a hand-over, and the first row's 250 is written before it."""
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        now = readers_due_now(engine, settings, 3)
        second = sorted(deliveries.list_rows(engine, limit=10), key=lambda r: r.id)[1]
        subscriber_store.update_subscriber(engine, second.subscriber_id, now=now, active=False)
        seen, progress = _seen_after_each(engine)
        send_due(engine, settings, now=lambda: now, progress=progress)
    assert seen[1][:2] == ["sent", "dead"]
    assert _states(engine) == ["sent", "dead", "sent"]


class _FailsOnSecond(Renderer):
    """Our renderer, raising ``error`` on the second digest only."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(public_url="https://alertbot.example.org")
        self.error = error
        self.calls = 0

    def email(self, digest: Digest, **kwargs: Any) -> RenderedEmail:
        self.calls += 1
        if self.calls == 2:
            raise self.error
        return super().email(digest, **kwargs)


def test_a_250_before_a_failed_render_is_recorded(tmp_path: Path, engine: Engine) -> None:
    """The second digest's render fails (a bug: counted transient): the first row's 250
    is written with that failure, and the third is sent."""
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        now = readers_due_now(engine, settings, 3)
        renderer = _FailsOnSecond(RuntimeError("a renderer bug"))
        seen, progress = _seen_after_each(engine)
        send_due(engine, settings, now=lambda: now, renderer=renderer, progress=progress)
    assert seen[1][:2] == ["sent", "failed"]
    assert _states(engine) == ["sent", "failed", "sent"]


def test_a_250_is_recorded_when_the_loop_is_interrupted(tmp_path: Path, engine: Engine) -> None:
    """Interrupted while a 250 waits for the next hand-over (KeyboardInterrupt out of
    the second render): the 250 is written on the way out, the first row ``sent`` and
    not ``unknown`` at the next reclaim; the row in hand keeps its start for the reclaim
    to charge, and the untouched third goes back to pending."""
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        now = readers_due_now(engine, settings, 3)
        renderer = _FailsOnSecond(KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            send_due(engine, settings, now=lambda: now, renderer=renderer)
    assert _states(engine) == ["sent", "sending", "pending"]


def test_rows_of_a_channel_with_no_hand_over_are_each_recorded(
    tmp_path: Path, engine: Engine, stock: Any, subscribe: Any
) -> None:
    """The file channel (the demo's) has no hand-over for a 250 to ride on: each of its
    rows is still recorded ``sent``, none left ``sending`` to be reclaimed and sent
    again (a review found the two first rows of three left so)."""
    stock()
    for n in range(3):
        subscribe(f"Reader {n}", "inbox", kind=EndpointKind.FILE)
    settings = make_settings(tmp_path)
    queue_due(engine, settings, now=NOW)
    channel = FileChannel(tmp_path / "out", from_address="alertbot@example.org")
    report = send_due(engine, settings, now=lambda: NOW, channels={EndpointKind.FILE: channel})
    assert report.counts() == {"sent": 3}
    assert _states(engine) == ["sent"] * 3


def test_an_email_250_before_a_file_row_is_recorded(
    tmp_path: Path, engine: Engine, stock: Any, subscribe: Any
) -> None:
    """An email row, then (rows go by kind) a file row, which makes no hand-over: the
    email's 250 is recorded, not replaced by the file row's."""
    stock()
    subscribe("Mail reader", "mail@example.org")
    subscribe("File reader", "inbox", kind=EndpointKind.FILE)
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        queue_due(engine, settings, now=NOW)
        send_due(engine, settings, now=lambda: NOW)
    assert _states(engine) == ["sent", "sent"]


def test_a_retried_postgresql_hand_over_warns_of_no_take_over(
    tmp_path: Path,
    engine: Engine,
    stock: Any,
    subscribe: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On PostgreSQL the hand-over is one statement in autocommit: when the connection
    drops after its commit but before its answer, the retry finds the previous row no
    longer ``sending`` (the failed try recorded it). Every row still ends ``sent``, and
    no "taken over" warning is logged for a row this worker recorded itself."""
    if engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the hand-over is one local transaction, retried whole")
    stock()
    for n in range(3):
        subscribe(f"Reader {n}", f"reader{n}@example.org")
    real, hand_overs = attempts._autocommit, 0

    def second_hand_over_loses_its_answer(db: Any, prepared: Any, params: Any, read: Any) -> Any:
        nonlocal hand_overs
        result = real(db, prepared, params, read)
        if "b_hand" in params:  # a hand-over (alertbot/store/attempts.py)
            hand_overs += 1
            if hand_overs == 2:
                raise OperationalError("WITH sent AS", {}, Exception("connection dropped"))
        return result

    monkeypatch.setattr(attempts, "_autocommit", second_hand_over_loses_its_answer)
    with smtp_server() as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        queue_due(engine, settings, now=NOW)
        send_due(engine, settings, now=lambda: NOW)
    assert hand_overs == 4  # three rows, one of them tried twice
    assert _states(engine) == ["sent"] * 3
    assert "taken over meanwhile" not in caplog.text

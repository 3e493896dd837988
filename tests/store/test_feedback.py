"""The feedback table: one row per (reader, paper), written by one upsert, so verdicts
arriving at once (a double click served by two workers) never collide."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from alertbot.store import feedback
from alertbot.store import subscribers as store
from alertbot.store.papers import upsert_papers
from tests.helpers.slack import RECENT_PAPERS

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PAPER = RECENT_PAPERS[0].id


def reader(engine: Engine) -> int:
    upsert_papers(engine, RECENT_PAPERS, source="test", now=NOW)
    return store.create_subscriber(engine, name="ada", now=NOW).id


def test_the_same_verdict_again_changes_nothing(engine: Engine) -> None:
    """record_feedback says whether it changed anything: first yes, the repeat no."""
    sid = reader(engine)
    assert feedback.record_feedback(engine, sid, PAPER, "useful", now=NOW) is True
    assert feedback.record_feedback(engine, sid, PAPER, "useful", now=NOW, channel="email") is False
    assert feedback.record_feedback(engine, sid, PAPER, "not_useful", now=NOW) is True
    assert feedback.get_feedback(engine, sid) == {PAPER: "not_useful"}
    assert feedback.count_feedback(engine, sid) == {"useful": 0, "not_useful": 1}


def test_verdicts_arriving_at_once_land_once(engine: Engine) -> None:
    """Eight threads recording the same click at the same moment, six times over (the
    first round also opens the pool's connections): no error, one row each time. (An
    update-then-insert raised IntegrityError about three times a round on PostgreSQL.)"""
    upsert_papers(engine, RECENT_PAPERS, source="test", now=NOW)
    errors: list[BaseException] = []
    readers = []
    for round_ in range(6):
        sid = store.create_subscriber(engine, name=f"reader {round_}", now=NOW).id
        readers.append(sid)
        start = threading.Barrier(8)

        def click(sid: int = sid, start: threading.Barrier = start) -> None:
            start.wait(timeout=10)
            try:
                feedback.record_feedback(engine, sid, PAPER, "useful", now=NOW, channel="email")
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=click) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
    assert errors == []
    assert all(feedback.get_feedback(engine, sid) == {PAPER: "useful"} for sid in readers)


@pytest.mark.parametrize(("value", "channel"), [("maybe", "slack"), ("useful", "fax")])
def test_it_refuses_an_unknown_verdict_or_channel(engine: Engine, value: str, channel: str) -> None:
    """A value or channel outside the enumerations is a ValueError and stores nothing."""
    sid = reader(engine)
    with pytest.raises(ValueError, match="unknown feedback"):
        feedback.record_feedback(engine, sid, PAPER, value, now=NOW, channel=channel)  # type: ignore[arg-type]
    assert feedback.get_feedback(engine, sid) == {}

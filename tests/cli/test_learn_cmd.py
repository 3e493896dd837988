"""``alertbot learn show|on|off`` against a real SQLite file, and ``alertbot bench learn``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from alertbot.model import Profile
from alertbot.schedule.clock import utcnow
from alertbot.store import connect, migrate
from alertbot.store import subscribers as subs
from alertbot.store.feedback import record_feedback
from alertbot.store.papers import upsert_papers
from tests.helpers.cli import run
from tests.helpers.learning import corpus, liked_decoding


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The database the CLI uses (ALERTBOT_DATABASE_URL), with the learning corpus and Ada."""
    monkeypatch.setenv("ALERTBOT_DATABASE_URL", sqlite_url)
    engine = connect(sqlite_url)
    migrate(engine)
    upsert_papers(engine, corpus(), source="test", now=utcnow())
    subs.create_subscriber(
        engine, name="Ada", now=utcnow(), profile=Profile(interests=('"language model"',))
    )
    yield engine
    engine.dispose()


def ada(engine: Engine) -> int:
    found = subs.find_subscriber(engine, "Ada")
    assert found is not None
    return found.id


def test_off_and_on_set_the_readers_switch(db: Engine) -> None:
    """learn off stores learning=false (the feedback stays); learn on allows it again."""
    record_feedback(db, ada(db), corpus()[0].id, "useful", now=utcnow())
    result = run("learn", "off", "Ada")
    assert result.exit_code == 0, result.output
    assert "learning off" in result.stdout
    assert subs.get_subscriber(db, ada(db)).learning is False  # type: ignore[union-attr]
    assert "learning: off" in run("learn", "show", "Ada").stdout
    assert run("learn", "on", "Ada").exit_code == 0
    assert subs.get_subscriber(db, ada(db)).learning is True  # type: ignore[union-attr]


def test_show_waits_for_enough_feedback_then_says_on(db: Engine) -> None:
    """Two verdicts: waiting, with what it needs; five and five: on."""
    sid = ada(db)
    for pid, value in list(liked_decoding(corpus(), n=1).items()):
        record_feedback(db, sid, pid, value, now=utcnow())
    waiting = run("learn", "show", "Ada")
    assert waiting.exit_code == 0, waiting.output
    assert "learning: waiting for feedback (needs 5 useful and 5 not useful)" in waiting.stdout
    assert "feedback: 1 useful, 1 not useful" in waiting.stdout
    for pid, value in liked_decoding(corpus()).items():
        record_feedback(db, sid, pid, value, now=utcnow())
    on = run("learn", "show", "Ada")
    assert "learning: on" in on.stdout
    assert "feedback: 5 useful, 5 not useful" in on.stdout


def test_show_names_an_unknown_reader_in_one_line(db: Engine) -> None:
    """An unknown name is a one-line error and a non-zero exit (-q: no config note)."""
    result = run("-q", "learn", "show", "Nobody")
    assert result.exit_code != 0
    assert "Nobody" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bench_learn_prints_both_rankings_per_day() -> None:
    """A two-day, two-reader run prints P@k and nDCG@k for each arm and the costs."""
    result = run("bench", "learn", "--days", "2", "--readers", "2", "--cap", "5")
    assert result.exit_code == 0, result.output
    assert "P@5" in result.stdout
    assert "nDCG@5" in result.stdout
    assert "vocabulary (once per tick)" in result.stdout
    assert "real papers from" in result.stdout

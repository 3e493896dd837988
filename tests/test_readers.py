"""A reader's learned ranking from the store: their verdicts (from any channel), judged
papers older than the corpus included, and the switch that turns it off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.corpus import load_corpus
from alertbot.digest import build_digest
from alertbot.model import Profile
from alertbot.readers import corpus_vocabulary, learn_params, load_reader, ranker_for
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as subs
from alertbot.store.feedback import record_feedback
from alertbot.store.papers import upsert_papers
from tests.helpers.builders import DAY
from tests.helpers.learning import corpus, liked_decoding

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SETTINGS = Settings(learn={"min_useful": 3, "min_not_useful": 3, "weight": 0.9})


def stocked(engine: Engine) -> int:
    papers = corpus()
    # The judged papers were stored long ago (outside the corpus window), the rest today.
    upsert_papers(engine, papers[:3] + papers[6:9], source="old", now=NOW - timedelta(days=90))
    upsert_papers(engine, papers[3:6] + papers[9:], source="new", now=NOW)
    sub = subs.create_subscriber(
        engine, name="Ada", now=NOW, profile=Profile(interests=('"language model"',), max_papers=3)
    )
    for pid, value in liked_decoding(papers, n=3).items():
        record_feedback(engine, sub.id, pid, value, now=NOW, channel="email")
    return sub.id


def test_it_trains_on_verdicts_about_papers_older_than_the_corpus(engine: Engine) -> None:
    """The judged papers are outside the 30-day corpus, yet the model learns from them and
    the digest's capped three are the unjudged decoding papers."""
    sid = stocked(engine)
    sub = subs.get_subscriber(engine, sid)
    assert sub is not None
    params = learn_params(SETTINGS)
    recent = load_corpus(engine, now=NOW, days=30)
    assert len(recent.papers) == 12
    vocabulary, vectors = corpus_vocabulary(recent.papers)
    state = load_reader(engine, sub, vocabulary, vectors, params)
    assert state.status == "on"
    assert state.counts == (3, 3)
    ranker = ranker_for(state, params)
    assert ranker is not None
    endpoint = endpoint_store.add_endpoint(engine, sid, "email", "ada@example.org", now=NOW)  # type: ignore[arg-type]
    digest = build_digest(sub, endpoint, DAY, recent.papers, recent.stats, ranker=ranker)
    assert digest.learned
    assert all("speculative decoding" in i.paper.title.lower() for i in digest.items)


def test_a_reader_who_turned_it_off_gets_no_ranker(engine: Engine) -> None:
    """learning=false: status off, no ranker, whatever the feedback."""
    sid = stocked(engine)
    sub = subs.update_subscriber(engine, sid, now=NOW, learning=False)
    params = learn_params(SETTINGS)
    recent = load_corpus(engine, now=NOW, days=30)
    vocabulary, vectors = corpus_vocabulary(recent.papers)
    state = load_reader(engine, sub, vocabulary, vectors, params)
    assert state.status == "off"
    assert ranker_for(state, params) is None


def test_too_little_feedback_is_waiting(engine: Engine) -> None:
    """Below the [learn] minimums: waiting, no ranker."""
    sid = stocked(engine)
    sub = subs.get_subscriber(engine, sid)
    assert sub is not None
    params = learn_params(Settings())
    recent = load_corpus(engine, now=NOW, days=30)
    vocabulary, vectors = corpus_vocabulary(recent.papers)
    state = load_reader(engine, sub, vocabulary, vectors, params)
    assert state.status == "waiting"
    assert ranker_for(state, params) is None


def test_the_learn_settings_default_to_the_cores_defaults() -> None:
    """[learn] without a setting gives exactly LearnParams() (one value for each fact)."""
    from alertbot.learn import LearnParams

    assert learn_params(Settings()) == LearnParams()

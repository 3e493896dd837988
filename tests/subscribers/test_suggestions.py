"""Suggestions through the subscriber service (what /subscribe, the web page and the CLI
call): made from the reader's verdicts, and accepted as an ordinary interest or
exclusion under the parser and the caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.match import validate_profile
from alertbot.model import Profile
from alertbot.store import subscribers as store
from alertbot.store.feedback import record_feedback
from alertbot.store.papers import upsert_papers
from alertbot.subscribers import AlreadyThere, NotFound, QueryRefused, SubscriberService, TooMany
from tests.helpers.learning import among_others, liked_decoding

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def service(engine: Engine) -> SubscriberService:
    settings = Settings(subscribe={"max_interests": 2, "max_exclusions": 2})
    return SubscriberService(engine, settings, now=lambda: NOW)


def reader(engine: Engine, *, judged: bool = True) -> int:
    papers = among_others()
    upsert_papers(engine, papers, source="test", now=NOW - timedelta(hours=1))
    sub = store.create_subscriber(
        engine, name="Ada", now=NOW, profile=Profile(interests=('"language model"',))
    )
    if judged:
        for pid, value in liked_decoding(papers).items():
            record_feedback(engine, sub.id, pid, value, now=NOW, channel="web")
    return sub.id


def test_suggestions_for_names_what_the_verdicts_separate(
    engine: Engine, service: SubscriberService
) -> None:
    """Useful decoding papers and not-useful surveys: add the phrase, exclude survey."""
    found = {(s.kind, s.query) for s in service.suggestions_for(reader(engine))}
    assert ("interest", '"speculative decoding"') in found
    assert ("exclusion", "survey") in found


def test_no_verdicts_no_suggestions(engine: Engine, service: SubscriberService) -> None:
    """A reader who judged nothing gets none (and no corpus is read for them)."""
    assert service.suggestions_for(reader(engine, judged=False)) == ()


def test_an_unknown_subscriber_is_not_found(service: SubscriberService) -> None:
    """suggestions_for of an id that is nobody's raises NotFound."""
    with pytest.raises(NotFound):
        service.suggestions_for(999)


def test_each_accepted_suggestion_becomes_an_ordinary_query_that_parses(engine: Engine) -> None:
    """Accepted, every suggestion is an interest or exclusion of the stored profile, and
    the whole profile still parses (default caps)."""
    service = SubscriberService(engine, Settings(), now=lambda: NOW)
    sid = reader(engine)
    for s in service.suggestions_for(sid):
        sub = store.get_subscriber(engine, sid)
        assert sub is not None
        service.accept_suggestion(sub, s.kind, s.query)
    sub = store.get_subscriber(engine, sid)
    assert sub is not None
    assert '"speculative decoding"' in sub.profile.interests
    assert "survey" in sub.profile.exclusions
    validate_profile(sub.profile)


def test_accepting_goes_through_the_same_rules_as_typing(
    engine: Engine, service: SubscriberService
) -> None:
    """Twice is AlreadyThere, past the cap TooMany, and an unparseable query QueryRefused
    with the parser's column."""
    sid = reader(engine)
    sub = store.get_subscriber(engine, sid)
    assert sub is not None
    sub, _ = service.accept_suggestion(sub, "interest", '"speculative decoding"')
    with pytest.raises(AlreadyThere):
        service.accept_suggestion(sub, "interest", '"speculative decoding"')
    with pytest.raises(TooMany):
        service.accept_suggestion(sub, "interest", "draft")
    with pytest.raises(QueryRefused) as refused:
        service.accept_suggestion(sub, "exclusion", 'survey "open')
    assert refused.value.error.column == 8

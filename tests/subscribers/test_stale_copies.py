"""Stop and resume act on the channels as stored, not on the caller's copy of the
subscriber (the account page's form, the subscriber ``/subscribe`` read at the start of
the command), which may predate a channel's change; a name is checked free under a lock.
Found by the audit of read-then-write transactions: stop turned off only the channels
its copy showed, so an address added since went on receiving digests after "unsubscribe
everywhere"; two adds of one name at once made two subscribers of that name."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.model import EndpointKind, Subscriber
from alertbot.store import connect
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as store
from alertbot.subscribers import STOPPED, NameTaken, NewSubscriber, SubscriberService, parse
from tests.helpers.races import Rival, starts

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _service_and_copy(engine: Engine) -> tuple[SubscriberService, Subscriber]:
    service = SubscriberService(engine, Settings(), now=lambda: NOW)
    ada = store.create_subscriber(engine, name="Ada", now=NOW)
    endpoint_store.add_endpoint(
        engine, ada.id, EndpointKind.SLACK_USER, "U1", now=NOW, slack_team_id="T1"
    )
    return service, _fresh(engine, ada)


def _fresh(engine: Engine, sub: Subscriber) -> Subscriber:
    found = store.get_subscriber(engine, sub.id)
    assert found is not None
    return found


def test_stop_turns_off_an_address_added_since_the_copy_was_read(engine: Engine) -> None:
    service, copy = _service_and_copy(engine)
    added = service.add_email(_fresh(engine, copy), "late@example.org")
    service.confirm_email(added.id)  # on, and receiving digests
    stopped = service.stop(copy)  # the copy shows the Slack user only
    assert not stopped.active
    assert [(e.kind, e.active, e.disabled_reason) for e in stopped.endpoints] == [
        (EndpointKind.SLACK_USER, False, STOPPED),
        (EndpointKind.EMAIL, False, STOPPED),
    ]


def test_resume_brings_back_channels_stopped_since_the_copy_was_read(engine: Engine) -> None:
    service, copy = _service_and_copy(engine)  # the copy shows the Slack user on
    service.stop(_fresh(engine, copy))
    resumed = service.resume(copy)
    assert resumed.active
    assert [(e.kind, e.active) for e in resumed.endpoints] == [(EndpointKind.SLACK_USER, True)]


def test_two_subscribers_of_one_name_added_at_once_make_one(db_url: str, engine: Engine) -> None:
    """``subscribers add`` (or an import) run twice at once for one name: one is
    refused. No unique key stands behind the name, so the check must run under a lock."""
    service = SubscriberService(engine, Settings(), now=lambda: NOW)
    other = connect(db_url)
    rival_side = SubscriberService(other, Settings(), now=lambda: NOW)

    def rival_adds() -> Subscriber | NameTaken:
        try:
            return rival_side.create(parse({"name": "lab"}, NewSubscriber))
        except NameTaken as exc:
            return exc

    rival = Rival(rival_adds)
    try:
        with rival.at(engine, starts("INSERT INTO subscribers")):
            mine = service.create(parse({"name": "lab"}, NewSubscriber))
        theirs = rival.result()
    finally:
        other.dispose()
    assert isinstance(theirs, NameTaken)
    assert [s.id for s in store.list_subscribers(engine) if s.name == "lab"] == [mine.id]

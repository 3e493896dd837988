"""The subscriber service: one set of rules for the CLI, /subscribe and the web pages."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.model import EndpointKind, Frequency
from alertbot.store import subscribers as store
from alertbot.subscribers import (
    AWAITING_CONFIRMATION,
    MAX_EMAILS,
    STOPPED,
    AlreadyThere,
    NameTaken,
    NewSubscriber,
    NoSuchItem,
    QueryRefused,
    Refused,
    SlackUserTaken,
    SubscriberChanges,
    SubscriberService,
    TooMany,
    parse,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def service(engine: Engine) -> SubscriberService:
    """The service on each backend, with small self-service caps."""
    settings = Settings(subscribe={"max_interests": 2, "max_exclusions": 1})
    return SubscriberService(engine, settings, now=lambda: NOW)


def new(**raw: object) -> NewSubscriber:
    return parse(raw, NewSubscriber)


def test_it_creates_a_subscriber_with_profile_schedule_and_channels(
    service: SubscriberService,
) -> None:
    """create stores every part of the spec, with the defaults for what was not given."""
    sub = service.create(new(name="Ada", email="ada@example.org", interests=["graph"]))
    assert sub.profile.interests == ("graph",)
    assert (sub.timezone, sub.send_time, sub.frequency) == ("UTC", time(8, 0), Frequency.DAILY)
    assert [(e.kind, e.address) for e in sub.endpoints] == [(EndpointKind.EMAIL, "ada@example.org")]


def test_a_name_and_a_slack_user_belong_to_one_subscriber(service: SubscriberService) -> None:
    """A second subscriber with a taken name or Slack user is refused, and nothing changes."""
    service.create(new(name="Ada", slack_user="T0123ABC:U0789GHI"))
    with pytest.raises(NameTaken, match="a subscriber named 'Ada' exists"):
        service.create(new(name="Ada"))
    with pytest.raises(SlackUserTaken, match="already subscriber 'Ada'"):
        service.create(new(name="Bo", slack_user="T0123ABC:U0789GHI"))
    assert [s.name for s in service.list()] == ["Ada"]


def test_update_changes_only_what_is_given_and_is_all_or_nothing(
    service: SubscriberService,
) -> None:
    """update keeps the rest; a refused channel change leaves the subscriber untouched."""
    ada = service.create(new(name="Ada", email="ada@example.org", interests=["graph"]))
    changed = service.update(ada, parse({"send_time": "07:15", "max_papers": 5}, SubscriberChanges))
    assert (changed.send_time, changed.profile.max_papers) == (time(7, 15), 5)
    assert changed.profile.interests == ("graph",)
    with pytest.raises(NoSuchItem, match="channel 999 is not one of Ada's"):
        service.update(changed, parse({"name": "Ada L."}, SubscriberChanges), remove_channels=[999])
    assert service.find("Ada") is not None


def test_import_creates_or_updates_by_name_in_one_transaction(service: SubscriberService) -> None:
    """A dry run writes nothing; a refusal half-way imports nothing; a rerun only updates."""
    specs = [new(name="A", interests=["x"]), new(name="B", slack_user="T01:U01")]
    assert service.import_(specs, dry_run=True).created == 2
    assert service.list() == []
    service.create(new(name="Owner", slack_user="T01:U01"))
    with pytest.raises(SlackUserTaken):
        service.import_(specs)
    assert [s.name for s in service.list()] == ["Owner"]
    done: list[int] = []
    result = service.import_(specs[:1], progress=done.append)
    again = service.import_(specs[:1])
    assert (result.created, again.updated, done) == (1, 1, [1])


def test_self_service_interests_are_parsed_capped_and_not_doubled(
    service: SubscriberService,
) -> None:
    """add_interest refuses a bad query (with its column), a duplicate and one past the cap."""
    sub = service.create(new(name="S"))
    sub, number = service.add_interest(sub, "graph")
    assert number == 1
    with pytest.raises(QueryRefused) as bad:
        service.add_interest(sub, 'graph "neural')
    assert bad.value.error.column == 7
    with pytest.raises(AlreadyThere) as twice:
        service.add_interest(sub, "graph")
    assert twice.value.position == 1
    sub, _ = service.add_interest(sub, "tree")
    with pytest.raises(TooMany):
        service.add_interest(sub, "forest")
    sub, _ = service.add_exclusion(sub, "survey")
    with pytest.raises(TooMany):
        service.add_exclusion(sub, "review")


def test_interests_and_exclusions_are_edited_and_removed_by_number(
    service: SubscriberService,
) -> None:
    """replace_query and remove_* work on the numbers `list` shows; others are refused."""
    sub = service.create(new(name="E", interests=["a", "b"], exclusions=["survey"]))
    edited = service.replace_query(sub.id, "interest", 2, "c d")
    assert edited.profile.interests == ("a", "c d")
    with pytest.raises(QueryRefused):
        service.replace_query(sub.id, "interest", 1, "(")
    assert service.remove_exclusion(sub.id, 1) == "survey"
    with pytest.raises(NoSuchItem, match="no interest number 5"):
        service.remove_interest(sub.id, 5)


def test_set_schedule_checks_the_zone_and_the_day(service: SubscriberService) -> None:
    """A zone not in the database or a day past Sunday is refused; the rest is stored."""
    sub = service.create(new(name="T"))
    with pytest.raises(Refused, match="unknown time zone"):
        service.set_schedule(sub.id, timezone="Mars/Olympus")
    with pytest.raises(Refused, match="day number"):
        service.set_schedule(sub.id, weekly_day=7)
    weekly = service.set_schedule(sub.id, frequency=Frequency.WEEKLY, weekly_day=3)
    assert (weekly.frequency, weekly.weekly_day, weekly.timezone) == (Frequency.WEEKLY, 3, "UTC")


def test_an_address_added_by_its_owner_waits_for_confirmation(service: SubscriberService) -> None:
    """Double opt-in: the new address is off until confirmed; a known one is returned as is."""
    sub = service.create(new(name="M"))
    endpoint = service.add_email(sub, "M@Example.org")
    assert (endpoint.confirmed, endpoint.active) == (False, False)
    assert endpoint.disabled_reason == AWAITING_CONFIRMATION
    sub = service.get(sub.id) or sub
    assert service.add_email(sub, "m@example.org").id == endpoint.id
    service.confirm_email(endpoint.id)
    confirmed = service.endpoint(endpoint.id)
    assert confirmed is not None
    assert (confirmed.confirmed, confirmed.active) == (True, True)
    with pytest.raises(Refused, match="not a valid email address"):
        service.add_email(sub, "nobody@")


def test_the_number_of_addresses_is_capped(service: SubscriberService) -> None:
    """No one may point the service at more than MAX_EMAILS addresses."""
    sub = service.create(new(name="N"))
    for n in range(MAX_EMAILS):
        service.add_email(sub, f"n{n}@example.org")
        sub = service.get(sub.id) or sub
    with pytest.raises(TooMany):
        service.add_email(sub, "one-more@example.org")


def test_stop_and_resume_restore_only_what_the_subscriber_turned_off(
    service: SubscriberService,
) -> None:
    """stop turns every channel off; resume brings back those, not an unconfirmed address."""
    sub = service.create(new(name="R", slack_user="T01:U01"))
    pending = service.add_email(sub, "r@example.org")
    sub = service.get(sub.id) or sub
    stopped = service.stop(sub)
    assert not stopped.active
    slack = next(e for e in stopped.endpoints if e.kind == EndpointKind.SLACK_USER)
    assert (slack.active, slack.disabled_reason) == (False, STOPPED)
    resumed = service.resume(stopped)
    states = {e.id: e.active for e in resumed.endpoints}
    assert resumed.active
    assert states == {slack.id: True, pending.id: False}


def test_a_slack_user_gets_one_subscriber_with_a_dm_channel(service: SubscriberService) -> None:
    """slack_subscriber creates on first use, then finds the same one."""
    first, created = service.slack_subscriber("T01", "U09", name="ann", timezone="Europe/Paris")
    again, created_again = service.slack_subscriber("T01", "U09", name="ann", timezone=None)
    assert (created, created_again, first.id) == (True, False, again.id)
    assert first.timezone == "Europe/Paris"
    assert [(e.kind, e.address) for e in first.endpoints] == [(EndpointKind.SLACK_USER, "U09")]


def test_the_store_update_is_typed(engine: Engine) -> None:
    """update_subscriber takes named, typed fields (no **changes); None keeps a field."""
    sub = store.create_subscriber(engine, name="Typed", now=NOW)
    changed = store.update_subscriber(
        engine, sub.id, now=NOW, frequency=Frequency.WEEKDAYS, slack_user=("T01", "U01")
    )
    assert (changed.frequency, changed.slack_team_id, changed.slack_user_id) == (
        Frequency.WEEKDAYS,
        "T01",
        "U01",
    )
    assert changed.name == "Typed"

"""Every ``/subscribe`` subcommand through the real app: the reply and the stored state."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

from sqlalchemy import Engine

from alertbot.model import EndpointKind, Frequency, Subscriber
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as store
from tests.helpers.slack import World, build_world, store_recent_papers, wait_until
from tests.servers import Reply, SlackStandIn


def me(world: World, team: str = "T1", user: str = "U1") -> Subscriber:
    found = store.find_by_slack(world.engine, team, user)
    assert found is not None
    return found


def test_it_lists_the_commands_and_query_examples_for_help(world: World) -> None:
    """``help`` lists every subcommand with query examples and stores nothing."""
    text = world.session.reply("help")
    words = ("list", "remove N", "exclude", "clear", "time", "weekly", "pause", "resume")
    for word in (*words, "stop", "preview", "email"):
        assert word in text
    assert '"diffusion model" -survey' in text
    assert store.find_by_slack(world.engine, "T1", "U1") is None


def test_it_creates_the_subscriber_on_first_use_with_the_slack_time_zone(world: World) -> None:
    """The first real command makes a subscriber keyed by (team, user), zone from users.info."""
    world.session.reply("list", user_name="ada")
    sub = me(world)
    assert (sub.name, sub.timezone, sub.send_time) == ("ada", "Europe/Paris", time(8, 0))
    assert [(e.kind, e.address, e.slack_team_id) for e in sub.endpoints] == [
        (EndpointKind.SLACK_USER, "U1", "T1")
    ]
    assert [c["user"] for c in world.slack.calls_to("users.info")] == ["U1"]


def test_it_falls_back_to_utc_when_users_info_fails(world: World) -> None:
    """A failing users.info does not stop the command: the zone is UTC."""
    world.slack.script("users.info", Reply(body={"ok": False, "error": "user_not_found"}))
    world.session.reply("list")
    assert me(world).timezone == "UTC"


def posted_texts(world: World, count: int) -> list[str]:
    """The texts of the first ``count`` follow-up messages posted to response_url."""
    posts = wait_until(lambda: len(world.slack.responses) >= count and world.slack.responses)
    return [str(params.get("text")) for _, params in posts[:count]]


def test_it_adds_an_interest_and_says_how_many_recent_papers_it_matches(world: World) -> None:
    """Two of the four stored papers are about diffusion; one of them is a survey."""
    store_recent_papers(world.engine, world.clock())
    assert "Added interest 1" in world.session.reply('"diffusion model" -survey')
    assert "matched 1 of the 4 papers of the last 30 days" in posted_texts(world, 1)[0]
    assert "Added interest 2" in world.session.reply("diffusion")
    assert any("2 `diffusion` would have matched 2 of the 4" in t for t in posted_texts(world, 2))
    assert me(world).profile.interests == ('"diffusion model" -survey', "diffusion")


def test_it_counts_matches_without_the_users_excluded_papers(world: World) -> None:
    """Exclusions already set apply to the count for a new interest."""
    store_recent_papers(world.engine, world.clock())
    world.session.reply("exclude survey")
    world.session.reply("diffusion")
    assert "matched 1 of the 4" in posted_texts(world, 1)[0]


def test_it_counts_only_papers_of_the_corpus_window(world: World) -> None:
    """Papers first stored before ``match.corpus_days`` do not count."""
    store_recent_papers(world.engine, world.clock() - timedelta(days=40))
    world.session.reply("diffusion")
    assert "matched 0 of the 0 papers" in posted_texts(world, 1)[0]


def test_it_answers_a_bad_query_with_the_parsers_column(world: World) -> None:
    """An unclosed quote is refused, naming the column, and nothing is stored."""
    text = world.session.reply('transformer "attention')
    assert "unclosed quote" in text
    assert "column 13" in text
    assert me(world).profile.interests == ()


def test_it_refuses_a_query_over_the_configured_length(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """``match.max_query_length`` bounds a query."""
    for world in build_world(sqlite_engine, tmp_path, slack, match={"max_query_length": 20}):
        text = world.session.reply("a very long query about many many things")
        assert "the limit is 20" in text
        assert me(world).profile.interests == ()


def test_it_refuses_more_interests_than_allowed(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """``subscribe.max_interests`` caps the list; the extra one is not stored."""
    for world in build_world(sqlite_engine, tmp_path, slack, subscribe={"max_interests": 2}):
        world.session.reply("alpha")
        world.session.reply("beta")
        assert "the most allowed" in world.session.reply("gamma")
        assert me(world).profile.interests == ("alpha", "beta")


def test_it_lists_interests_exclusions_time_frequency_channels_and_state(world: World) -> None:
    """``list`` shows everything a subscriber can change, numbered for ``remove``."""
    world.session.reply("transformer")
    world.session.reply('"graph neural"')
    world.session.reply("exclude survey")
    world.session.reply("weekly wed")
    text = world.session.reply("list")
    assert "1. `transformer`" in text
    assert '2. `"graph neural"`' in text
    assert "Exclusions: `survey`" in text
    assert "08:00 Europe/Paris, every Wednesday" in text
    assert "Slack direct message: on" in text
    assert "State: active" in text


def test_it_removes_an_interest_by_number(world: World) -> None:
    """``remove 1`` drops the first interest and renumbers the rest."""
    world.session.reply("alpha")
    world.session.reply("beta")
    assert "Removed interest 1: `alpha`" in world.session.reply("remove 1")
    assert me(world).profile.interests == ("beta",)
    assert "no interest number 5" in world.session.reply("remove 5")
    assert me(world).profile.interests == ("beta",)


def test_it_adds_an_exclusion_and_clears_the_profile(world: World) -> None:
    """``exclude`` stores an exclusion; ``clear`` forgets interests and exclusions only."""
    world.session.reply("alpha")
    world.session.reply("exclude survey")
    assert me(world).profile.exclusions == ("survey",)
    world.session.reply("clear")
    sub = me(world)
    assert (sub.profile.interests, sub.profile.exclusions) == ((), ())
    assert sub.endpoints


def test_it_sets_the_time_with_an_explicit_zone(world: World) -> None:
    """``time 06:45 America/New_York`` stores both."""
    text = world.session.reply("time 06:45 America/New_York")
    assert "06:45 America/New_York" in text
    sub = me(world)
    assert (sub.send_time, sub.timezone) == (time(6, 45), "America/New_York")


def test_it_sets_the_time_in_the_users_current_slack_zone(world: World) -> None:
    """Without a zone, users.info is asked again (the user may have moved)."""
    world.session.reply("list")
    world.clock.advance(minutes=11)  # past the few minutes a zone is remembered
    world.slack.script(
        "users.info", Reply(body={"ok": True, "user": {"id": "U1", "tz": "Asia/Tokyo"}})
    )
    world.session.reply("time 7pm")
    sub = me(world)
    assert (sub.send_time, sub.timezone) == (time(19, 0), "Asia/Tokyo")


def test_a_first_time_command_asks_slack_for_the_zone_once(world: World) -> None:
    """Creating the subscriber and setting the time share one users.info call, so the
    answer stays well inside Slack's 3 seconds."""
    world.slack.script(
        "users.info", Reply(body={"ok": True, "user": {"id": "U1", "tz": "Europe/Paris"}})
    )
    world.session.reply("time 08:30")
    assert len(world.slack.calls_to("users.info")) == 1
    assert (me(world).send_time, me(world).timezone) == (time(8, 30), "Europe/Paris")


def test_it_refuses_a_bad_time_or_zone_and_keeps_the_old_one(world: World) -> None:
    """A bad time or zone is explained and nothing changes."""
    world.session.reply("list")
    assert "Not a time of day" in world.session.reply("time 31:00")
    assert "Unknown time zone" in world.session.reply("time 08:00 Nowhere/City")
    assert me(world).send_time == time(8, 0)


def test_it_sets_the_frequency(world: World) -> None:
    """daily, weekdays and weekly DAY are stored with the weekly day."""
    world.session.reply("weekdays")
    assert me(world).frequency == Frequency.WEEKDAYS
    world.session.reply("weekly sat")
    sub = me(world)
    assert (sub.frequency, sub.weekly_day) == (Frequency.WEEKLY, 5)
    world.session.reply("daily")
    assert me(world).frequency == Frequency.DAILY


def test_it_pauses_and_resumes(world: World) -> None:
    """``pause`` makes the subscriber inactive, ``resume`` active again."""
    assert "resume" in world.session.reply("pause")
    assert me(world).active is False
    world.session.reply("resume")
    assert me(world).active is True


def test_it_stops_every_channel_keeping_the_interests_until_clear(world: World) -> None:
    """``stop`` turns the subscriber and its channels off; interests stay; resume undoes it."""
    world.session.reply("alpha")
    text = world.session.reply("stop")
    assert "clear" in text
    sub = me(world)
    assert sub.active is False
    assert [e.active for e in sub.endpoints] == [False]
    assert sub.profile.interests == ("alpha",)
    world.session.reply("resume")
    assert [e.active for e in me(world).endpoints] == [True]


def test_it_previews_todays_digest_through_the_response_url(world: World) -> None:
    """``preview`` answers at once, then posts the digest blocks ephemerally to response_url."""
    store_recent_papers(world.engine, world.clock())
    world.session.reply("diffusion")
    text = world.session.reply("preview")
    assert "preview" in text.lower()
    # The interest's match count is posted too, by another thread: find the digest.
    posted = wait_until(lambda: [p for _, p in world.slack.responses if "blocks" in p])
    params = posted[0]
    assert params["response_type"] == "ephemeral"
    blocks_text = str(params["blocks"])
    assert "Diffusion models for protein design" in blocks_text
    assert "Graph neural networks" not in blocks_text


def test_it_says_so_when_a_preview_has_nothing(world: World) -> None:
    """With no matching paper the preview says nothing matches, instead of an empty digest."""
    world.session.reply("quantum chromodynamics")
    world.session.reply("preview")
    assert any("Nothing new matches" in text for text in posted_texts(world, 2))


def test_it_adds_an_email_only_after_the_emailed_link_is_confirmed(world: World) -> None:
    """Double opt-in: unconfirmed and off until the link's POST, then confirmed and on."""
    text = world.session.reply("email ada@example.org")
    assert "ada@example.org" in text
    email = next(e for e in me(world).endpoints if e.kind == EndpointKind.EMAIL)
    assert (email.confirmed, email.active) == (False, False)
    address, url = wait_until(lambda: list(world.confirmations.sent))[0]
    assert address == "ada@example.org"
    assert url.startswith("http://testserver/confirm?token=")
    page = world.http.get(url)
    assert page.status_code == 200
    assert endpoint_store.get_endpoint(world.engine, email.id).confirmed is False  # type: ignore[union-attr]
    assert world.http.post(url).status_code == 200
    confirmed = endpoint_store.get_endpoint(world.engine, email.id)
    assert confirmed is not None
    assert (confirmed.confirmed, confirmed.active) == (True, True)
    assert "already go to" in world.session.reply("email ada@example.org")


def test_it_refuses_an_address_that_is_not_one(world: World) -> None:
    """A malformed address is explained and no endpoint or email follows."""
    assert "not a valid email address" in world.session.reply("email ada-at-example")
    assert store.find_by_slack(world.engine, "T1", "U1") is None
    assert world.confirmations.sent == []


def test_it_says_email_is_unavailable_without_smtp(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """With no SMTP relay configured, the address is not stored and no mail is attempted."""
    for world in build_world(sqlite_engine, tmp_path, slack, smtp={"host": None}):
        assert "not set up" in world.session.reply("email ada@example.org")
        assert all(e.kind != EndpointKind.EMAIL for e in me(world).endpoints)
        assert world.confirmations.sent == []


def test_it_escapes_echoed_text_so_nobody_is_pinged(world: World) -> None:
    """``/subscribe <!channel> news`` is stored as typed but echoed as entities."""
    text = world.session.reply("<!channel> news")
    assert "<" not in text
    assert "`&lt;!channel&gt; news`" in text
    assert me(world).profile.interests == ("<!channel> news",)
    refused = world.session.reply("<!here> & co")
    assert "<" not in refused
    assert "`&amp; co`" in refused


def test_a_real_mention_is_stored_as_plain_text_and_never_echoed_as_one(world: World) -> None:
    """Slack turns a typed @here into ``<!here>``; it comes back as the inert text @here."""
    text = world.session.reply("", formatted="<!here> diffusion")
    assert "<" not in text
    assert me(world).profile.interests == ("@here diffusion",)


def test_an_ampersand_survives_the_round_trip(world: World) -> None:
    """``R&D`` is stored as typed, so it matches papers about R&D, and is echoed once escaped."""
    text = world.session.reply('"R&D" robotics')
    assert '`"R&amp;D" robotics`' in text
    assert me(world).profile.interests == ('"R&D" robotics',)


def test_it_rate_limits_commands_per_user(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """Over ``commands_per_minute`` the user is told to wait; a minute later it works again."""
    for world in build_world(sqlite_engine, tmp_path, slack, subscribe={"commands_per_minute": 3}):
        for n in range(3):
            world.session.reply(f"topic{n}")
        assert "Too many commands" in world.session.reply("topic3")
        assert "topic3" not in me(world).profile.interests
        assert "Added" in world.session.reply("alpha", user="U2")
        world.clock.advance(seconds=61)
        assert "Added" in world.session.reply("topic3")


def test_it_keeps_two_workspaces_apart_for_the_same_user_id(any_world: World) -> None:
    """U1 in T1 and U1 in T2 are two subscribers who never see each other's interests."""
    any_world.session.reply("alpha", team="T1")
    any_world.session.reply("beta", team="T2")
    any_world.session.reply("remove 1", team="T2")
    assert me(any_world, "T1").profile.interests == ("alpha",)
    assert me(any_world, "T2").profile.interests == ()
    assert "alpha" not in any_world.session.reply("list", team="T2")


def test_it_answers_a_thousand_nested_parentheses_with_the_parsers_column(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """Deep nesting through /subscribe is a query error at a column, not "Sorry..."."""
    for world in build_world(sqlite_engine, tmp_path, slack, match={"max_query_length": 3000}):
        text = world.session.reply("(" * 1000 + "a" + ")" * 1000)
        assert "nested more than 32 levels deep" in text
        assert "column 33" in text
        assert me(world).profile.interests == ()


def test_it_takes_a_category_interest_and_says_where_a_bad_one_is(world: World) -> None:
    """/subscribe cat:cs.LG is stored; a malformed category is refused at its column."""
    assert "column 11, at `cs..LG`" in world.session.reply("graph cat:cs..LG")
    world.session.reply("cat:cs.LG -cat:math.*")
    assert me(world).profile.interests == ("cat:cs.LG -cat:math.*",)

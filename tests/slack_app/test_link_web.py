"""``/subscribe link CODE``: a web account's reader links their Slack user with the code
their account page shows (signed, short-lived, single use)."""

from __future__ import annotations

from datetime import time

from alertbot.links import signer_for
from alertbot.model import EndpointKind, Subscriber
from alertbot.slack_app import commands as c
from alertbot.subscribers import SubscriberService
from tests.helpers.slack import World


def web_reader(world: World) -> Subscriber:
    service = SubscriberService(world.engine, world.settings, now=world.clock)
    sub, _ = service.sign_up("ada@example.org", "diffusion", timezone="UTC", send_time=time(8))
    return sub


def code_for(world: World, sub: Subscriber) -> str:
    return signer_for(world.settings).slack_link_token(sub.id)


def current(world: World, subscriber_id: int) -> Subscriber:
    found = SubscriberService(world.engine, world.settings, now=world.clock).get(subscriber_id)
    assert found is not None
    return found


def test_it_parses_a_code_and_keeps_link_queries_as_interests() -> None:
    """Only a signed-looking code is a link; "link prediction" stays an interest."""
    code = "WzEsImFiYyJd.aw9uyg.eua1tL2-sa7WUwcKzmFaiSZdHDU"
    assert c.parse_command(f"link {code}") == c.LinkWeb(code)
    assert c.parse_command("link prediction") == c.AddInterest("link prediction")
    assert c.parse_command("link") == c.AddInterest("link")


def test_it_links_the_slack_user_to_the_web_account(world: World) -> None:
    """The web reader gets the Slack user and a DM endpoint; the profile is theirs."""
    sub = web_reader(world)
    reply = world.session.reply(f"link {code_for(world, sub)}")
    assert reply.startswith("Linked")
    linked = current(world, sub.id)
    assert (linked.slack_team_id, linked.slack_user_id) == ("T1", "U1")
    assert [e.kind for e in linked.endpoints] == [EndpointKind.EMAIL, EndpointKind.SLACK_USER]
    assert world.session.reply("list").count("diffusion") == 1


def test_it_replaces_the_empty_subscriber_a_first_command_made(world: World) -> None:
    """A Slack user who only ever typed /subscribe help or list is merged in."""
    sub = web_reader(world)
    world.session.reply("list")  # creates an empty Slack subscriber
    assert world.session.reply(f"link {code_for(world, sub)}").startswith("Linked")
    service = SubscriberService(world.engine, world.settings, now=world.clock)
    assert [s.id for s in service.list()] == [sub.id]


def test_it_refuses_a_slack_user_with_interests_of_their_own(world: World) -> None:
    """Two profiles are never merged silently: the reply says what to do."""
    sub = web_reader(world)
    world.session.reply("graph neural networks")
    reply = world.session.reply(f"link {code_for(world, sub)}")
    assert "has its own interests already" in reply
    assert current(world, sub.id).slack_user_id is None


def test_a_code_works_once(world: World) -> None:
    """The same code from another Slack user links nobody."""
    sub = web_reader(world)
    code = code_for(world, sub)
    assert world.session.reply(f"link {code}").startswith("Linked")
    other = world.session.reply(f"link {code}", user="U2")
    assert "linked to another Slack user" in other or "used already" in other
    assert current(world, sub.id).slack_user_id == "U1"


def test_a_forged_code_is_refused(world: World) -> None:
    """A code not signed with the key links nothing."""
    sub = web_reader(world)
    forged = code_for(world, sub)[:-4] + "AAAA"
    assert "not valid" in world.session.reply(f"link {forged}")
    assert current(world, sub.id).slack_user_id is None

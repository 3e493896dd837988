"""``/subscribe email ADDRESS`` cannot mail-bomb anyone (issue 10, point 8).

Repeating the command resent the confirmation every time (20 emails in 4.6 s). Now a
few go to one address per day whoever asks, a few per requester whatever the address,
the reply says why none was sent, and the counts survive a restart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.model import EndpointKind
from alertbot.store import connect
from alertbot.store import subscribers as store
from alertbot.subscribers import MAX_EMAILS, SubscriberService
from tests.helpers.races import Rival, starts
from tests.helpers.slack import World, build_world, wait_until
from tests.servers import SlackStandIn

VICTIM = "victim@example.org"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def ask(world: World, address: str = VICTIM, **kw: str) -> str:
    return world.session.reply(f"email {address}", **kw)


def emails(world: World, count: int) -> list[str]:
    """The addresses of the confirmation emails sent, once ``count`` were (they go out
    after the acknowledgement); a refused request schedules none, so no more follow."""
    wait_until(lambda: len(world.confirmations.sent) >= count)
    return [to for to, _ in world.confirmations.sent]


def test_it_sends_three_confirmations_to_one_address_and_says_why_not_a_fourth(
    world: World,
) -> None:
    """Six requests for one address: three emails, then replies naming the limit."""
    replies = [ask(world) for _ in range(6)]
    assert emails(world, 3) == [VICTIM] * 3
    for reply in replies[:3]:
        assert reply.startswith("Almost done")
    for reply in replies[3:]:
        assert "already sent 3 confirmation emails" in reply
        assert "`victim@example.org`" in reply
        assert "last 24 hours" in reply
        assert "about 24 h" in reply


def test_it_counts_an_address_whoever_asks(world: World) -> None:
    """Five Slack users asking for one stranger's address send three emails in all."""
    replies = [ask(world, user=f"U{n}") for n in range(5)]
    assert emails(world, 3) == [VICTIM] * 3
    assert sum("already sent 3 confirmation emails" in r for r in replies) == 2


def test_it_limits_one_requester_across_addresses(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """With two per requester, a third address is refused and not even stored."""
    for world in build_world(sqlite_engine, tmp_path, slack, outgoing_mail={"per_requester": 2}):
        assert ask(world, "a@example.org").startswith("Almost done")
        assert ask(world, "b@example.org").startswith("Almost done")
        reply = ask(world, "c@example.org")
        assert "asked for 2 confirmation emails in the last 24 hours" in reply
        assert emails(world, 2) == ["a@example.org", "b@example.org"]
        me = store.find_by_slack(world.engine, "T1", "U1")
        assert me is not None
        stored = [e.address for e in me.endpoints if e.kind == EndpointKind.EMAIL]
        assert stored == ["a@example.org", "b@example.org"]


def test_it_remembers_the_count_across_a_restart(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """A new app on the same store (the service restarted) still refuses the fourth."""
    for world in build_world(sqlite_engine, tmp_path, slack):
        for _ in range(3):
            ask(world)
        assert emails(world, 3) == [VICTIM] * 3
    for world in build_world(sqlite_engine, tmp_path, slack):
        assert "already sent 3 confirmation emails" in ask(world)
        assert world.confirmations.sent == []


def test_it_allows_another_once_a_day_has_passed(world: World) -> None:
    """The window slides: 24 hours after the first email, one more may go."""
    for _ in range(3):
        ask(world)
    world.clock.advance(hours=23)
    assert "about 1 h" in ask(world)
    world.clock.advance(hours=1, seconds=1)
    assert ask(world).startswith("Almost done")
    assert emails(world, 4) == [VICTIM] * 4


def test_it_says_so_when_another_add_took_the_last_place_meanwhile(
    world: World, sqlite_url: str
) -> None:
    """The command read two addresses; the account page adds a third before the command
    stores its own: the reply says there is no place left, and three are stored."""
    for n in range(2):
        ask(world, f"a{n}@example.org")
    mine = store.find_by_slack(world.engine, "T1", "U1")
    assert mine is not None
    other = connect(sqlite_url)
    web_side = SubscriberService(other, Settings(), now=lambda: NOW)
    rival = Rival(lambda: web_side.add_email(mine, "page@example.org"))
    try:
        # Between the command's reading of the subscriber and its add: its mail count.
        with rival.at(world.engine, starts("INSERT INTO outgoing_mail")):
            reply = ask(world, "late@example.org")
        rival.result()
    finally:
        other.dispose()
    assert reply == f"You already have {MAX_EMAILS} email addresses, the most allowed."
    stored = store.get_subscriber(world.engine, mine.id)
    assert stored is not None
    assert sorted(e.address for e in stored.endpoints if e.kind == EndpointKind.EMAIL) == [
        "a0@example.org",
        "a1@example.org",
        "page@example.org",
    ]

"""Digest buttons: feedback stored and acknowledged in place; unsubscribe only by the owner."""

from __future__ import annotations

from typing import Any

from alertbot.model import EndpointKind
from alertbot.store import endpoints as endpoint_store
from alertbot.store import feedback
from alertbot.store import subscribers as store
from tests.helpers.slack import World, store_recent_papers, wait_until

PAPER = "2603.00001"


def digest_blocks() -> list[dict[str, Any]]:
    """The shape render_slack gives a digest: a section and a feedback block per paper."""
    return [
        {"type": "section", "block_id": "p1", "text": {"type": "mrkdwn", "text": "*Paper one*"}},
        {
            "type": "actions",
            "block_id": f"feedback:{PAPER}",
            "elements": [
                {"type": "button", "action_id": "feedback_useful", "value": PAPER},
                {"type": "button", "action_id": "feedback_not_useful", "value": PAPER},
            ],
        },
        {"type": "section", "block_id": "p2", "text": {"type": "mrkdwn", "text": "*Paper two*"}},
    ]


def subscribed(world: World, team: str = "T1", user: str = "U1") -> int:
    world.session.reply("list", team=team, user=user)  # list has no follow-up post
    found = store.find_by_slack(world.engine, team, user)
    assert found is not None
    return found.id


def test_it_records_useful_feedback_and_updates_the_message_in_place(world: World) -> None:
    """The verdict is stored per (subscriber, paper); the buttons become a thank-you note."""
    store_recent_papers(world.engine, world.clock())
    sid = subscribed(world)
    response = world.session.click(
        "feedback_useful", PAPER, block_id=f"feedback:{PAPER}", blocks=digest_blocks()
    )
    assert response.status_code == 200
    assert feedback.get_feedback(world.engine, sid) == {PAPER: "useful"}
    _, params = wait_until(lambda: list(world.slack.responses))[0]
    assert params["replace_original"] is True
    blocks = params["blocks"]
    assert [b["type"] for b in blocks] == ["section", "context", "section"]
    assert "useful" in blocks[1]["elements"][0]["text"]


def test_it_changes_its_mind_on_a_second_click(world: World) -> None:
    """Not useful after useful replaces the verdict, it does not add a second one."""
    store_recent_papers(world.engine, world.clock())
    sid = subscribed(world)
    world.session.click("feedback_useful", PAPER)
    world.session.click("feedback_not_useful", PAPER)
    assert feedback.get_feedback(world.engine, sid) == {PAPER: "not_useful"}


def test_it_records_nothing_for_an_unknown_user_or_paper(world: World) -> None:
    """Feedback from someone not subscribed, or on a paper we do not have, is refused."""
    store_recent_papers(world.engine, world.clock())
    sid = subscribed(world)
    world.session.click("feedback_useful", PAPER, user="U9")
    world.session.click("feedback_useful", "9999.99999")
    world.session.click("feedback_useful", "x" * 500)
    assert store.find_by_slack(world.engine, "T1", "U9") is None
    assert feedback.get_feedback(world.engine, sid) == {}


def test_it_pauses_the_slack_channel_from_the_unsubscribe_button(world: World) -> None:
    """The owner's click turns that endpoint off and says how to resume; resume turns it on."""
    sid = subscribed(world)
    sub = store.get_subscriber(world.engine, sid)
    assert sub is not None
    endpoint = sub.endpoints[0]
    assert endpoint.kind == EndpointKind.SLACK_USER
    assert world.session.click("unsubscribe", str(endpoint.id)).status_code == 200
    paused = endpoint_store.get_endpoint(world.engine, endpoint.id)
    assert paused is not None
    assert paused.active is False
    _, params = wait_until(lambda: list(world.slack.responses))[0]
    assert "/subscribe resume" in params["text"]
    world.session.reply("resume")
    resumed = endpoint_store.get_endpoint(world.engine, endpoint.id)
    assert resumed is not None
    assert resumed.active is True


def test_it_never_unsubscribes_someone_elses_endpoint(world: World) -> None:
    """A button value naming another user's (or workspace's) endpoint changes nothing."""
    victim = subscribed(world, team="T2", user="U1")
    subscribed(world, team="T1", user="U1")
    victim_sub = store.get_subscriber(world.engine, victim)
    assert victim_sub is not None
    target = victim_sub.endpoints[0].id
    world.session.click("unsubscribe", str(target), team="T1", user="U1")
    world.session.click("unsubscribe", str(target), team="T1", user="U7")
    world.session.click("unsubscribe", "not-a-number", team="T2", user="U1")
    endpoint = endpoint_store.get_endpoint(world.engine, target)
    assert endpoint is not None
    assert endpoint.active is True

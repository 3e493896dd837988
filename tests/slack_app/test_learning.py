"""Learning from Slack: ``/subscribe learning on|off`` flips the switch,
``/subscribe suggest`` lists what the reader's feedback argues for with a button each,
and the button (through the interactions handler) adds it as an ordinary interest."""

from __future__ import annotations

import json

from alertbot.match import validate_profile
from alertbot.slack_app import commands as c
from alertbot.store import subscribers as store
from alertbot.store.feedback import record_feedback
from alertbot.store.papers import upsert_papers
from tests.helpers.learning import among_others, liked_decoding
from tests.helpers.slack import World, wait_until


def subscribed(world: World) -> int:
    world.session.reply("list")
    found = store.find_by_slack(world.engine, "T1", "U1")
    assert found is not None
    return found.id


def learning(world: World, sid: int) -> bool:
    sub = store.get_subscriber(world.engine, sid)
    assert sub is not None
    return sub.learning


def test_learning_on_and_off_parse_and_anything_else_shows_the_usage() -> None:
    """`learning on` / `learning OFF` are the switch; `learning` alone or `maybe` is not."""
    assert c.parse_command("learning on") == c.SetLearning(True)
    assert c.parse_command("learning OFF") == c.SetLearning(False)
    assert c.parse_command("suggest") == c.Suggest()
    for text in ("learning", "learning maybe", "learning on now"):
        action = c.parse_command(text)
        assert isinstance(action, c.Invalid)
        assert "/subscribe learning on|off" in action.message


def test_learning_off_then_on_flips_the_readers_switch(world: World) -> None:
    """Off keeps the keyword order (and says the clicks are kept); on allows it again."""
    sid = subscribed(world)
    assert "keyword order" in world.session.reply("learning off")
    assert learning(world, sid) is False
    assert "Learning is on" in world.session.reply("learning on")
    assert learning(world, sid) is True


def test_suggest_without_feedback_says_so(world: World) -> None:
    """No verdicts yet: a follow-up says how to get suggestions, with no buttons."""
    subscribed(world)
    world.session.reply("suggest")
    (_, posted), *_ = wait_until(lambda: list(world.slack.responses))
    assert "No suggestions yet" in posted["text"]
    assert "blocks" not in posted


def test_suggest_lists_buttons_and_a_click_adds_the_interest(world: World) -> None:
    """With five useful decoding papers and five not-useful surveys, the follow-up offers
    "speculative decoding"; its button adds it, an interest that parses, and the
    message's button becomes a note."""
    sid = subscribed(world)
    papers = among_others()
    upsert_papers(world.engine, papers, source="test", now=world.clock())
    for pid, value in liked_decoding(papers).items():
        record_feedback(world.engine, sid, pid, value, now=world.clock())
    world.session.reply("suggest")
    (_, posted), *_ = wait_until(lambda: list(world.slack.responses))
    buttons = [b for b in posted["blocks"] if b.get("accessory", {}).get("action_id")]
    values = [json.loads(b["accessory"]["value"]) for b in buttons]
    assert ["interest", '"speculative decoding"'] in values
    block = buttons[values.index(["interest", '"speculative decoding"'])]
    world.slack.responses.clear()
    response = world.session.click(
        "suggestion_accept",
        block["accessory"]["value"],
        block_id=block["block_id"],
        blocks=posted["blocks"],
    )
    assert response.status_code == 200
    sub = store.get_subscriber(world.engine, sid)
    assert sub is not None
    assert '"speculative decoding"' in sub.profile.interests
    validate_profile(sub.profile)
    (_, updated), *_ = wait_until(lambda: list(world.slack.responses))
    assert updated["replace_original"] is True
    assert "Added interest" in json.dumps(updated["blocks"])


def test_a_forged_or_foreign_suggestion_click_changes_nothing(world: World) -> None:
    """A value that is not [kind, query], or a click by someone not subscribed, adds nothing."""
    sid = subscribed(world)
    for value in ("nonsense", json.dumps(["maybe", "x"]), json.dumps(["interest", 3])):
        world.session.click("suggestion_accept", value)
    world.session.click("suggestion_accept", json.dumps(["interest", "gpu"]), user="U9")
    sub = store.get_subscriber(world.engine, sid)
    assert sub is not None
    assert sub.profile.interests == ()
    assert store.find_by_slack(world.engine, "T1", "U9") is None


def test_a_like_interest_is_added_from_slack_without_a_keyword_count(world: World) -> None:
    """`/subscribe like:2405.12345` adds it and says papers like it come in the digests
    (the keyword count would say 0); a malformed one is refused at its column."""
    sid = subscribed(world)
    assert "Papers like it come" in world.session.reply("like:2405.12345")
    sub = store.get_subscriber(world.engine, sid)
    assert sub is not None
    assert sub.profile.interests == ("like:2405.12345",)
    assert "column 6" in world.session.reply("like:foo")

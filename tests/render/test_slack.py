"""Slack Block Kit: limits, escaping of untrusted text, and the interactive ids."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from alertbot.render import Renderer, SlackMessage
from alertbot.render.slack import MAX_BLOCKS
from tests.helpers.builders import digest, item, paper


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(public_url="https://alerts.example.org")


def _texts(message: SlackMessage) -> Iterator[dict[str, Any]]:
    """Every text object in the message (block texts and context elements)."""
    for block in message.blocks:
        if "text" in block:
            yield block["text"]
        for element in block.get("elements", ()):
            if element.get("type") in ("mrkdwn", "plain_text"):
                yield element
            elif "text" in element:
                yield element["text"]


def _mrkdwn(message: SlackMessage) -> list[str]:
    return [t["text"] for t in _texts(message) if t["type"] == "mrkdwn"]


def test_it_never_exceeds_fifty_blocks_and_counts_the_rest(renderer: Renderer) -> None:
    """Forty papers fit in 50 blocks; the ones left out join the "and N more" count."""
    message = renderer.slack(digest([item(paper(n)) for n in range(40)], more=7))
    assert len(message.blocks) <= MAX_BLOCKS
    shown = sum(1 for b in message.blocks if b.get("block_id", "").startswith("feedback:"))
    assert shown > 0
    more = re.search(r"and (\d+) more", "\n".join(_mrkdwn(message)))
    assert more is not None
    assert shown + int(more.group(1)) == 47


def test_it_makes_mentions_and_links_in_titles_inert(renderer: Renderer) -> None:
    """<!channel> and <https://evil|click> in a title are escaped, not sent as markup."""
    p = paper(1, title="<!channel> read <https://evil.example|click> & win")
    texts = "\n".join(_mrkdwn(renderer.slack(digest([item(p)]))))
    assert "&lt;!channel&gt; read &lt;https://evil.example|click&gt; &amp; win" in texts
    assert "<!channel>" not in json.dumps(renderer.slack(digest([item(p)])).blocks)
    # The only "<" left open are our own links, to http(s) URLs we built.
    assert all(link.startswith("https://") for link in re.findall(r"<([^>]*)>", texts))


def test_it_neutralises_mrkdwn_formatting_in_titles(renderer: Renderer) -> None:
    """*bold*, _italic_, ~strike~ and `code` in a title cannot format the message."""
    p = paper(2, title="*bold* _it_ ~gone~ `code` graphs")
    section = _mrkdwn(renderer.slack(digest([item(p)])))[0]
    title = section.split("\n")[0]
    assert not set(title.split("|", 1)[1][:-2]) & set("*_~`")
    assert "∗bold∗" in title


def test_it_marks_every_mrkdwn_text_verbatim(renderer: Renderer) -> None:
    """verbatim stops Slack from link-ifying bare @channel or #channel in abstracts."""
    p = paper(3, abstract="ping @channel and #general now")
    message = renderer.slack(digest([item(p)]))
    assert all(t.get("verbatim") is True for t in _texts(message) if t["type"] == "mrkdwn")


def test_it_respects_slacks_text_limits_with_hostile_sizes(renderer: Renderer) -> None:
    """10,000-character abstracts of "&" and 2,000-character titles stay in the limits."""
    p = paper(4, title="&" * 2000, abstract="<&>" * 3400, authors=["A" * 5000])
    message = renderer.slack(digest([item(p)]))
    for block in message.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        for element in block.get("elements", ()):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75


def test_it_wires_the_feedback_and_unsubscribe_buttons(renderer: Renderer) -> None:
    """Feedback buttons carry the paper id, unsubscribe the endpoint id; ids are unique."""
    papers = [paper(1), paper(2)]
    message = renderer.slack(digest([item(p) for p in papers]))
    block_ids = [b["block_id"] for b in message.blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    actions = [
        (b["block_id"], e["action_id"], e["value"])
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert actions == [
        ("feedback:2611.00001", "feedback_useful", "2611.00001"),
        ("feedback:2611.00001", "feedback_not_useful", "2611.00001"),
        ("feedback:2611.00002", "feedback_useful", "2611.00002"),
        ("feedback:2611.00002", "feedback_not_useful", "2611.00002"),
        ("digest_footer", "unsubscribe", "7"),
    ]


def test_it_shows_matched_terms_in_a_context_line(renderer: Renderer) -> None:
    """Each paper is followed by a context line saying why it matched."""
    message = renderer.slack(digest([item(paper(1))]))
    contexts = [b for b in message.blocks if b["type"] == "context"]
    assert contexts[0]["elements"][0]["text"].startswith("your interest graph")


def test_it_always_has_a_text_fallback(renderer: Renderer) -> None:
    """The notification text is never empty, even for an empty digest."""
    assert renderer.slack(digest([item(paper(1))], more=2)).text == (
        "alertbot: 3 new papers for you - Mon 23 Nov"
    )
    empty = renderer.slack(digest([]))
    assert empty.text == "alertbot: nothing new for you - Mon 23 Nov"
    assert any("Nothing new" in t for t in _mrkdwn(empty))


def test_it_is_plain_json(renderer: Renderer) -> None:
    """The blocks serialise to JSON as they are (what chat.postMessage receives)."""
    message = renderer.slack(digest([item(paper(1, title="图神经网络 \u202eevil"))]))
    assert json.loads(json.dumps(message.blocks)) == message.blocks
    assert "\u202e" not in json.dumps(message.blocks, ensure_ascii=False)

"""What the renderers show of learning: feedback links per paper (email), the reason a
paper moved, and the note that the digest was ordered by the reader's feedback."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from alertbot.model import FeedbackValue, RankReason, Suggestion
from alertbot.render import DigestLinks, Renderer
from alertbot.render.parts import LEARNED_NOTE, reason_text
from alertbot.render.slack import MAX_BLOCKS
from tests.helpers.builders import digest, item, paper

UNSUBSCRIBE = "https://alerts.example.org/unsubscribe?token=abc.def"
UP = RankReason("up", ("speculative decoding",), 3)


def links(paper_id: str, value: FeedbackValue) -> str:
    return f"https://alerts.example.org/feedback?token={paper_id}.{value}"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(public_url="https://alerts.example.org/")


def test_every_paper_of_an_email_gets_its_useful_and_not_useful_links(renderer: Renderer) -> None:
    """Text and HTML carry both links under each paper, each for that paper."""
    items = [item(paper(1)), item(paper(2))]
    email = renderer.email(digest(items), unsubscribe_url=UNSUBSCRIBE, feedback_url=links)
    for p in (paper(1), paper(2)):
        for value in ("useful", "not_useful"):
            url = links(p.id, value)
            assert url in email.text
            assert f'href="{url}"' in email.html


def test_no_feedback_links_without_a_link_builder(renderer: Renderer) -> None:
    """A preview (no builder) shows no feedback links."""
    email = renderer.email(digest([item(paper(1))]), unsubscribe_url=UNSUBSCRIBE)
    assert "/feedback" not in email.text
    assert "/feedback" not in email.html


def test_a_moved_paper_shows_its_reason_in_email_and_slack(renderer: Renderer) -> None:
    """The reason, in words, under the paper it belongs to."""
    moved = replace(item(paper(1)), reason=UP)
    d = replace(digest([moved, item(paper(2))]), learned=True)
    text = "Ranked up: like 3 papers you found useful, on speculative decoding"
    assert reason_text(UP) == text[0].lower() + text[1:]
    email = renderer.email(d, unsubscribe_url=UNSUBSCRIBE)
    assert email.text.count(text) == 1
    assert email.html.count(text) == 1
    blocks = renderer.slack(d).blocks
    contexts = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert sum(text in c for c in contexts) == 1


def test_the_header_says_when_learning_ordered_the_digest(renderer: Renderer) -> None:
    """The learned note appears only in a learned digest, in email and Slack."""
    plain = digest([item(paper(1))])
    for d, expected in ((plain, 0), (replace(plain, learned=True), 1)):
        email = renderer.email(d, unsubscribe_url=UNSUBSCRIBE)
        assert email.text.count(LEARNED_NOTE) == expected
        assert email.html.count(LEARNED_NOTE) == expected
        blocks = renderer.slack(d).blocks
        assert str(blocks).count(LEARNED_NOTE) == expected
        assert (LEARNED_NOTE in str(blocks[1])) == bool(expected)  # right under the header


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (
            RankReason("down", ("survey",), 1),
            "ranked down: like 1 paper you marked not useful, on survey",
        ),
        (RankReason("up", ("a", "b"), 0), "ranked up: on a and b, from your feedback"),
        (RankReason("up"), "ranked up: from your feedback"),
    ],
)
def test_reason_text_reads_well_in_every_case(reason: RankReason, expected: str) -> None:
    """Singular and plural, no count, no terms."""
    assert reason_text(reason) == expected


ADD = Suggestion("interest", '"speculative decoding"', "speculative decoding", 4, 0)
EXCLUDE = Suggestion("exclusion", "survey", "survey", 0, 5)


def accept_links(suggestion: Suggestion) -> str:
    return f"https://alerts.example.org/suggestion?token={suggestion.kind}.{suggestion.term}"


def test_an_emails_footer_offers_each_suggestion_with_its_link(renderer: Renderer) -> None:
    """Text and HTML list each suggestion in words with its own accept link."""
    d = replace(digest([item(paper(1))]), learned=True, suggestions=(ADD, EXCLUDE))
    email = renderer.email(d, unsubscribe_url=UNSUBSCRIBE, suggestion_url=accept_links)
    for s in (ADD, EXCLUDE):
        assert accept_links(s) in email.text
        assert f'href="{accept_links(s)}"' in email.html
    assert 'Add interest "speculative decoding"?' in email.text
    assert "Exclude survey?" in email.text
    assert 'Add interest "speculative decoding"?' in email.html


def test_no_suggestions_no_footer_lines(renderer: Renderer) -> None:
    """A digest without suggestions (keyword order, or a preview) shows none."""
    email = renderer.email(digest([item(paper(1))]), unsubscribe_url=UNSUBSCRIBE,
                           suggestion_url=accept_links)  # fmt: skip
    assert "/suggestion" not in email.text
    assert "/suggestion" not in email.html
    assert "suggestion_accept" not in json.dumps(renderer.slack(digest([item(paper(1))])).blocks)


def test_slack_offers_each_suggestion_with_a_button_within_fifty_blocks(
    renderer: Renderer,
) -> None:
    """Each suggestion is a section with an accept button whose value is [kind, query];
    forty papers and three suggestions still fit in 50 blocks."""
    three = (ADD, EXCLUDE, Suggestion("interest", "draft", "draft", 3, 0))
    d = replace(digest([item(paper(n)) for n in range(40)]), learned=True, suggestions=three)
    blocks = renderer.slack(d).blocks
    assert len(blocks) <= MAX_BLOCKS
    buttons = [b["accessory"] for b in blocks if "accessory" in b]
    assert [json.loads(b["value"]) for b in buttons] == [[s.kind, s.query] for s in three]
    assert {b["action_id"] for b in buttons} == {"suggestion_accept"}
    assert [b["text"]["text"] for b in buttons] == ["Add", "Exclude", "Add"]


def test_a_learned_digests_footer_has_its_web_links_and_its_suggestions(
    renderer: Renderer,
) -> None:
    """From the outbox, a learned digest's email and Slack message carry both the digest's
    page and archive links and each suggestion, and the note sits under the header."""
    web = DigestLinks(
        "https://alerts.example.org/digest/7?token=p", "https://alerts.example.org/digests?token=a"
    )
    d = replace(digest([item(paper(1))], more=3), learned=True, suggestions=(ADD, EXCLUDE))
    email = renderer.email(d, unsubscribe_url=UNSUBSCRIBE, links=web, suggestion_url=accept_links)
    for part in (email.text, email.html):
        assert web.page in part
        assert web.archive in part
        for s in (ADD, EXCLUDE):
            assert accept_links(s) in part
        assert part.index(LEARNED_NOTE) < part.index(accept_links(ADD))
    blocks = renderer.slack(d, web).blocks
    assert LEARNED_NOTE in str(blocks[1])
    footer = json.dumps(blocks[-2])
    assert "Open in your browser" in footer
    assert "Past digests" in footer
    buttons = [b["accessory"] for b in blocks if "accessory" in b]
    assert [json.loads(b["value"]) for b in buttons] == [[s.kind, s.query] for s in (ADD, EXCLUDE)]
    assert json.dumps(blocks).count(web.page) == 2  # the "and 3 more" line and the footer

"""A delivered digest's links to the web: "… and N more" becomes the link to its page,
an "open in your browser" and a "past digests" link join it; without links (previews)
the messages say what they said before."""

from __future__ import annotations

import json
from html import escape

import pytest

from alertbot.render import DigestLinks, Renderer
from tests.helpers.builders import digest, item, paper

UNSUBSCRIBE = "https://alerts.example.org/unsubscribe?token=abc.def"
LINKS = DigestLinks(
    page="https://alerts.example.org/digest/42?token=a.b&x=1",
    archive="https://alerts.example.org/digests?token=c.d",
)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(public_url="https://alerts.example.org/")


def test_the_email_links_its_page_from_the_more_line_and_the_top(renderer: Renderer) -> None:
    """HTML: the "69 more" line is a link to the page (escaped), "Open in your browser"
    too, "Past digests" to the archive; text: both URLs in full."""
    email = renderer.email(
        digest([item(paper(1))], more=69), unsubscribe_url=UNSUBSCRIBE, links=LINKS
    )
    page = escape(LINKS.page)
    assert f'<a href="{page}"' in email.html
    assert "69 more matching papers not shown: see them all on the web</a>" in email.html
    assert email.html.count(f'href="{page}"') == 2
    assert f'href="{escape(LINKS.archive)}"' in email.html
    assert f"see them all on the web\n{LINKS.page}\n" in email.text
    assert f"This digest in your browser: {LINKS.page}" in email.text
    assert f"Past digests: {LINKS.archive}" in email.text


def test_papers_dropped_to_fit_the_size_cap_join_the_linked_more_line(renderer: Renderer) -> None:
    """A digest too big for the cap moves papers into "and N more", which still links."""
    small = Renderer(public_url="https://alerts.example.org/", max_html_bytes=12_000)
    many = [item(paper(n, abstract="word " * 200)) for n in range(1, 30)]
    email = small.email(digest(many), unsubscribe_url=UNSUBSCRIBE, links=LINKS)
    assert "more matching papers not shown: see them all on the web</a>" in email.html
    assert len(email.html.encode()) <= 12_000


def test_without_links_the_email_says_what_it_said(renderer: Renderer) -> None:
    """A preview (no outbox row, no page) keeps the old hint and has no web links."""
    email = renderer.email(digest([item(paper(1))], more=3), unsubscribe_url=UNSUBSCRIBE)
    assert "see them all with /subscribe preview" in email.text
    assert "in your browser" not in email.text
    assert "/digest" not in email.html


def test_the_slack_message_links_its_page_and_archive(renderer: Renderer) -> None:
    """The "and N more" section is a mrkdwn link to the page; the footer links both."""
    blocks = renderer.slack(digest([item(paper(1))], more=7), LINKS).blocks
    texts = json.dumps(blocks, ensure_ascii=False)
    page = LINKS.page.replace("&", "&amp;")
    assert f"<{page}|… and 7 more matching papers not shown: see them all on the web>" in texts
    assert f"<{page}|Open in your browser>" in texts
    assert f"<{LINKS.archive}|Past digests>" in texts
    plain = json.dumps(renderer.slack(digest([item(paper(1))], more=7)).blocks)
    assert "/subscribe preview" in plain
    assert "/digest" not in plain

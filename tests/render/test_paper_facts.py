"""What the digest shows beside the text: code and project links, upvotes, DOI, category."""

from __future__ import annotations

from dataclasses import replace

import pytest

from alertbot.model import Paper
from alertbot.render import Renderer
from tests.helpers.builders import digest, item, paper

UNSUBSCRIBE = "https://alerts.example.org/unsubscribe?token=abc.def"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(public_url="https://alerts.example.org/")


def hf_paper() -> Paper:
    return replace(
        paper(5, source_format="hf-json"),
        github_repo="https://github.com/example/graph-code",
        project_page="https://example.org/graph-project",
        upvotes=37,
        hf_url="https://huggingface.co/papers/2611.00005",
        primary_category="cs.LG",
        categories=("cs.LG", "q-bio.BM"),
        doi="10.1093/bioinformatics/btac431",
        journal_ref="Bioinformatics 38 (2022)",
    )


def slack_text(renderer: Renderer, p: Paper, more: int = 0) -> str:
    message = renderer.slack(digest([item(p)], more))
    return str(message.blocks)


def test_the_email_shows_the_code_and_project_links_of_an_hf_paper(renderer: Renderer) -> None:
    """Text and HTML both carry the code link, the project page, the HF page and the DOI."""
    email = renderer.email(digest([item(hf_paper())]), unsubscribe_url=UNSUBSCRIBE)
    for part in (email.text, email.html):
        assert "https://github.com/example/graph-code" in part
        assert "https://example.org/graph-project" in part
        assert "https://huggingface.co/papers/2611.00005" in part
        assert "https://doi.org/10.1093/bioinformatics/btac431" in part
    assert "Code: https://github.com/example/graph-code" in email.text


def test_the_email_shows_primary_category_upvotes_and_journal_reference(
    renderer: Renderer,
) -> None:
    """The byline names the primary category, the upvotes and the journal reference."""
    email = renderer.email(digest([item(hf_paper())]), unsubscribe_url=UNSUBSCRIBE)
    for part in (email.text, email.html):
        assert "cs.LG" in part
        assert "37 upvotes" in part
        assert "Bioinformatics 38 (2022)" in part


def test_slack_shows_the_code_link_upvotes_and_category(renderer: Renderer) -> None:
    """The Slack item links the code and names the category and upvotes."""
    text = slack_text(renderer, hf_paper())
    assert "<https://github.com/example/graph-code|Code>" in text
    assert "37 upvotes" in text
    assert "cs.LG" in text


def test_the_more_line_says_how_to_see_the_papers_left_out(renderer: Renderer) -> None:
    """ "… and N more" points to /subscribe preview (Slack) and the operator's command (email)."""
    email = renderer.email(digest([item(hf_paper())], more=69), unsubscribe_url=UNSUBSCRIBE)
    assert "69 more matching papers" in email.text
    assert "/subscribe preview" in email.text
    assert "alertbot digest preview" in email.html
    assert "/subscribe preview" in slack_text(renderer, hf_paper(), more=69)


def test_a_paper_without_links_shows_none_of_them(renderer: Renderer) -> None:
    """No code, project or DOI link is invented for a paper that has none."""
    email = renderer.email(digest([item(paper(6))]), unsubscribe_url=UNSUBSCRIBE)
    assert "Code:" not in email.text
    assert "doi.org" not in email.text

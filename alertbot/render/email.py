"""Digest in, messages out: the Jinja2 email templates, and the Slack builder's entry point.

Pure given the templates. The templates live in the top-level ``templates/`` folder
(``email/subject.txt``, ``email/body.txt``, ``email/body.html``, ``email/style.css``) and
are found, in order: the ``templates_dir`` argument; the ``alertbot.templates`` package
(how a wheel ships them); ``templates/`` next to the package (a checkout).

The HTML part stays under Gmail's clipping size: abstracts are shortened first, then
papers move into the "and N more" line, until the inlined HTML is under
``max_html_bytes``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import css_inline
from markupsafe import Markup

from alertbot.model import Digest, DigestItem, EndpointKind, FeedbackValue
from alertbot.render import slack as render_slack
from alertbot.render.parts import (
    LEARNED_NOTE,
    authors_text,
    day_label,
    display_text,
    highlight_html,
    more_hint,
    one_line,
    paper_facts,
    paper_links,
    reason_text,
    sentence,
    spans_for,
    why,
)
from alertbot.render.templates import environment, find_templates
from alertbot.tex import display

# (paper id, verdict) -> the signed link that records it (alertbot.links.feedback_url
# with the subscriber bound); None renders no feedback links (previews).
FeedbackLinks = Callable[[str, FeedbackValue], str]

MAX_HTML_BYTES = 100_000  # Gmail clips messages above ~102 KB
TITLE_CHARS = 300
SUBJECT_TITLE_CHARS = 80
SUBJECT_CHARS = 200
# Abstract lengths tried in turn until the HTML fits; then papers are dropped.
ABSTRACT_STEPS = (600, 300, 120, 0)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class SlackMessage:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


class Renderer:
    """Renders digests; the Jinja2 environment and the CSS inliner are set up once."""

    def __init__(
        self,
        *,
        public_url: str,
        templates_dir: Path | None = None,
        max_html_bytes: int = MAX_HTML_BYTES,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.templates_dir = find_templates(templates_dir)
        self.max_html_bytes = max_html_bytes
        self.env = environment(self.templates_dir)
        self._subject = self.env.get_template("email/subject.txt")
        self._text = self.env.get_template("email/body.txt")
        self._html = self.env.get_template("email/body.html")
        # keep_at_rules: the dark-mode @media block cannot be inlined, it stays in <style>.
        self._inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)

    def email(
        self,
        digest: Digest,
        *,
        unsubscribe_url: str,
        feedback_url: FeedbackLinks | None = None,
    ) -> RenderedEmail:
        """Subject, plain text and HTML (CSS inlined, under ``max_html_bytes``).

        ``feedback_url`` gives each paper its "useful" / "not useful" links.
        """
        base = self._context(digest, unsubscribe_url)
        subject = one_line(self._subject.render(base), SUBJECT_CHARS)
        base["subject"] = subject
        total = len(digest.items) + digest.more
        shown = len(digest.items)
        views: list[dict[str, Any]] = []
        html = ""
        for abstract_chars in ABSTRACT_STEPS:
            views = [_paper_view(item, abstract_chars, feedback_url) for item in digest.items]
            html = self._render_html(base, views, more=total - shown)
            if _size(html) <= self.max_html_bytes:
                break
        while _size(html) > self.max_html_bytes and shown > 0:
            # Scale the paper count by how far over we are, always dropping at least one.
            estimate = shown * self.max_html_bytes // _size(html)
            shown = max(min(estimate, shown - 1), 0)
            html = self._render_html(base, views[:shown], more=total - shown)
        text = self._text.render(
            base,
            papers=views[:shown],
            more=total - shown,
            more_hint=more_hint(total - shown, slack=False),
        )
        return RenderedEmail(subject=subject, text=text, html=html)

    def slack(self, digest: Digest) -> SlackMessage:
        """Block Kit blocks (at most 50) and the plain ``text`` fallback."""
        text, blocks = render_slack.build(digest)
        return SlackMessage(text=text, blocks=blocks)

    def _render_html(self, base: dict[str, Any], views: list[dict[str, Any]], more: int) -> str:
        html = self._html.render(
            base, papers=views, more=more, more_hint=more_hint(more, slack=False)
        )
        return str(self._inliner.inline(html))

    def _context(self, digest: Digest, unsubscribe_url: str) -> dict[str, Any]:
        top = display(digest.items[0].paper.title) if digest.items else ""
        return {
            "digest": digest,
            "day": day_label(digest.digest_date),
            "total": len(digest.items) + digest.more,
            "top_title": one_line(top, SUBJECT_TITLE_CHARS),
            # An address reads well in the footer; a folder (file channel) or Slack id not.
            "recipient": one_line(
                digest.endpoint.address
                if digest.endpoint.kind is EndpointKind.EMAIL
                else digest.subscriber.name,
                200,
            ),
            "unsubscribe_url": unsubscribe_url,
            "public_url": self.public_url,
            "learned_note": LEARNED_NOTE if digest.learned else "",
        }


def _size(html: str) -> int:
    return len(html.encode("utf-8"))


def _paper_view(
    item: DigestItem, abstract_chars: int, feedback_url: FeedbackLinks | None
) -> dict[str, Any]:
    """What the templates show of one paper: plain fields for text, ``*_html`` for HTML."""
    paper, match = item.paper, item.match
    title = display_text(paper.title, TITLE_CHARS)
    abstract = display_text(paper.abstract, abstract_chars) if abstract_chars else ""
    links = paper_links(paper)
    authors = authors_text(paper)
    date = paper.published.isoformat() if paper.published else ""
    facts = paper_facts(paper)
    view: dict[str, Any] = {
        "title": one_line(title),
        "url": links[0][1] if links else None,
        "links": links,
        "byline": " · ".join(p for p in (authors, date, *facts) if p),
        "abstract": one_line(abstract),
        "why": why(match),
        "reason": sentence(reason_text(item.reason)) if item.reason is not None else "",
        "useful_url": feedback_url(paper.id, "useful") if feedback_url else None,
        "not_useful_url": feedback_url(paper.id, "not_useful") if feedback_url else None,
    }
    view["title_html"] = highlight_html(title, spans_for(match, "title"))
    view["abstract_html"] = highlight_html(abstract, spans_for(match, "abstract"))
    author_html = highlight_html(authors, spans_for(match, "authors") if paper.authors else [])
    view["byline_html"] = Markup(" &middot; ").join(p for p in (author_html, date, *facts) if p)
    return view

"""Digest in, messages out: the Jinja2 email templates, and the Slack builder's entry point.

Pure given the templates. The templates live in the top-level ``templates/`` folder
(``email/subject.txt``, ``email/body.txt``, ``email/body.html``, ``email/style.css``) and
are found, in order: the ``templates_dir`` argument; the ``alertbot.templates`` package
(how a wheel ships them); ``templates/`` next to the package (a checkout).

The HTML part stays under Gmail's clipping size: abstracts are shortened first, then
papers move into the "and N more" line, until the inlined HTML is under
``max_html_bytes``.

**Each paper is rendered once and reused across readers.** A paper looks the same in
every digest that shows it with the same match (readers who share an interest share
its highlights), so ``email/paper.html`` and ``email/paper.txt`` render one paper, its
HTML already CSS-inlined as a fragment, and the renderer keeps them; a digest is its
frame (``email/body.html``, inlined on its own, small) with the papers' blocks put in
place. The frame itself is inlined once per shape, the reader's strings put in after
(``frame.py``). The result is byte for byte what inlining the whole document gives (CSS
rules apply per element; the frame's ``@media`` block stays in its ``<style>``), with
long lines broken at spaces (``fold.py``) so the part can go ``8bit``.
Inlining a paper once instead of once per reader, and a frame once per shape, is most
of why rendering is no longer the larger part of a digest's CPU (``alertbot bench
deliver`` prints it per digest).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import css_inline
from markupsafe import Markup, escape

from alertbot.model import (
    FEEDBACK_VALUES,
    Digest,
    DigestItem,
    EndpointKind,
    FeedbackValue,
    Paper,
    Suggestion,
)
from alertbot.render import slack as render_slack
from alertbot.render.fold import fold_html
from alertbot.render.frame import FrameCache
from alertbot.render.parts import (
    LEARNED_NOTE,
    DigestLinks,
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
    suggestion_text,
    why,
)
from alertbot.render.templates import environment, find_templates
from alertbot.tex import display

# (paper id, verdict) -> the signed link that records it (alertbot.links.feedback_url
# with the subscriber bound); None renders no feedback links (previews).
FeedbackLinks = Callable[[str, FeedbackValue], str]
# A query suggestion -> the signed link to the page that accepts it (links.suggestion_url).
SuggestionLinks = Callable[[Suggestion], str]

MAX_HTML_BYTES = 100_000  # Gmail clips messages above ~102 KB
PAPERS_MARK = "<!--alertbot:papers-->"  # where the papers' blocks go in the inlined frame
CACHE_SIZE = 8192  # rendered papers kept (a day's papers times their distinct matches)
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
        self._paper_text = self.env.get_template("email/paper.txt")
        self._paper_html = self.env.get_template("email/paper.html")
        self._css = self.env.get_template("email/style.css").render()
        # keep_at_rules: the dark-mode @media block cannot be inlined, it stays in <style>.
        self._inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
        # A frame template of the reader's own is inlined per digest (see frame.py).
        bundled = find_templates().resolve()
        frame_file = Path(self._html.filename or "").resolve()
        self._frames = FrameCache(
            self._html,
            lambda page: fold_html(str(self._inliner.inline(page))),
            PAPERS_MARK,
            shared=frame_file.is_relative_to(bundled),
        )
        self._papers: dict[tuple[Any, ...], _Shared] = {}
        # Stand-ins for a reader's feedback links in a shared block: random, so no text
        # of a paper can look like one.
        nonce = secrets.token_hex(8)
        self._marks: dict[FeedbackValue, str] = {
            value: f"alertbot-{nonce}-{value}" for value in FEEDBACK_VALUES
        }
        # Splits a block at the stand-ins, keeping them: text, mark, text, mark, text.
        self._cut_at_marks = re.compile(
            "(" + "|".join(map(re.escape, self._marks.values())) + ")"
        ).split

    def email(
        self,
        digest: Digest,
        *,
        unsubscribe_url: str,
        feedback_url: FeedbackLinks | None = None,
        links: DigestLinks | None = None,
        suggestion_url: SuggestionLinks | None = None,
    ) -> RenderedEmail:
        """Subject, plain text and HTML (CSS inlined, under ``max_html_bytes``).

        ``feedback_url`` gives each paper its "useful" / "not useful" links; ``links``
        (a digest from the outbox) its web page, which the "and N more" line and an
        "open in your browser" link point at, and the reader's archive;
        ``suggestion_url`` each of the digest's query suggestions its accept link.
        """
        base = self._context(digest, unsubscribe_url)
        base["links"] = links
        base["suggestions"] = [
            {"text": sentence(suggestion_text(s)), "url": suggestion_url(s)}
            for s in digest.suggestions
        ] if suggestion_url else []  # fmt: skip
        subject = one_line(self._subject.render(base), SUBJECT_CHARS)
        base["subject"] = subject
        total = len(digest.items) + digest.more
        shown = len(digest.items)
        blocks: list[_Block] = []
        html = ""
        size = 0
        for abstract_chars in ABSTRACT_STEPS:
            blocks = [self._paper(item, abstract_chars, feedback_url) for item in digest.items]
            html = self._render_html(base, blocks, more=total - shown)
            size = _size(html)
            if size <= self.max_html_bytes:
                break
        while size > self.max_html_bytes and shown > 0:
            # Scale the paper count by how far over we are, always dropping at least one.
            estimate = shown * self.max_html_bytes // size
            shown = max(min(estimate, shown - 1), 0)
            html = self._render_html(base, blocks[:shown], more=total - shown)
            size = _size(html)
        text = self._text.render(
            base,
            papers=[b.text for b in blocks[:shown]],
            more=total - shown,
            more_hint=more_hint(total - shown, slack=False, linked=links is not None),
        )
        return RenderedEmail(subject=subject, text=text, html=html)

    def _paper(
        self, item: DigestItem, abstract_chars: int, feedback_url: FeedbackLinks | None
    ) -> _Block:
        """One paper's text and inlined HTML, rendered once per paper, match and reason;
        the reader's own feedback links are put in afterwards."""
        key = (_paper_key(item.paper), item.match, item.reason, abstract_chars, bool(feedback_url))
        found = self._papers.get(key)
        if found is None:
            if len(self._papers) >= CACHE_SIZE:
                self._papers.clear()
            stand_in: FeedbackLinks | None = None
            if feedback_url:
                marks = self._marks
                stand_in = lambda _paper_id, value: marks[value]  # noqa: E731
            view = paper_view(item, abstract_chars, stand_in)
            html = self._inliner.inline_fragment(self._paper_html.render(p=view), self._css)
            cut = self._cut_at_marks
            text = self._paper_text.render(p=view)
            found = self._papers[key] = _Shared(tuple(cut(text)), tuple(cut(fold_html(html))))
        if not feedback_url:
            return _Block(found.text[0], found.html[0])
        # The reader's links go in the gaps the stand-ins left: one join per part instead
        # of a replace over the whole block per link.
        pid = item.paper.id
        urls = {mark: feedback_url(pid, value) for value, mark in self._marks.items()}
        text_parts, html_parts = list(found.text), list(found.html)
        text_parts[1::2] = [urls[mark] for mark in found.text[1::2]]
        html_parts[1::2] = [str(escape(urls[mark])) for mark in found.html[1::2]]
        return _Block("".join(text_parts), "".join(html_parts))

    def paper_html(self, item: DigestItem) -> Markup:
        """One paper as the email digest shows it (``email/paper.html``, the digest's
        highlights and "why", no feedback links), not CSS-inlined: for a web page that
        styles it with its own stylesheet (the account page's live preview)."""
        view = paper_view(item, ABSTRACT_STEPS[0], None)
        return Markup(self._paper_html.render(p=view))  # noqa: S704 - autoescaped template

    def slack(self, digest: Digest, links: DigestLinks | None = None) -> SlackMessage:
        """Block Kit blocks (at most 50) and the plain ``text`` fallback; ``links`` as
        for :meth:`email`."""
        text, blocks = render_slack.build(digest, links)
        return SlackMessage(text=text, blocks=blocks)

    def _render_html(self, base: dict[str, Any], blocks: list[_Block], more: int) -> str:
        # The frame is inlined on its own (a placeholder where the papers go; once per
        # shape, frame.py), then the papers' blocks, inlined once each, take the
        # placeholder's place.
        hint = more_hint(more, slack=False, linked=base["links"] is not None)
        inlined = self._frames.render(base, papers=bool(blocks), more=more, more_hint=hint)
        return inlined.replace(PAPERS_MARK, "".join(b.html for b in blocks), 1)

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


@dataclass(frozen=True, slots=True)
class _Block:
    """One paper as the email shows it: its plain-text block and its inlined HTML."""

    text: str
    html: str


@dataclass(frozen=True, slots=True)
class _Shared:
    """A paper's block as readers share it, each part cut where a reader's feedback
    links go: text, stand-in, text, stand-in, text (no links: the whole part)."""

    text: tuple[str, ...]
    html: tuple[str, ...]


def _paper_key(paper: Paper) -> tuple[Any, ...]:
    """What a paper's rendering depends on (``Paper`` holds a dict, so it is no key)."""
    return (
        paper.id, paper.title, paper.abstract, paper.authors, paper.n_authors,
        paper.published, paper.url, paper.arxiv_id, paper.categories, paper.doi,
        paper.source_format, paper.primary_category, paper.journal_ref, paper.github_repo,
        paper.project_page, paper.upvotes, paper.hf_url,
    )  # fmt: skip


def _size(html: str) -> int:
    return len(html.encode("utf-8"))


def paper_view(
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

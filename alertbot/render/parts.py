"""How one paper is presented, whatever the channel: links, byline, trimmed text, highlights.

Pure helpers shared by the email renderer (``render/email.py``) and the Slack builder
(``render/slack.py``). Everything that comes from a listing is untrusted: it is escaped
where it is placed (HTML here via ``markupsafe``, Slack mrkdwn in ``render/slack.py``), and
URLs other than http(s) are dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlsplit

from markupsafe import Markup

from alertbot.model import Field, Match, Paper, RankReason, Suggestion
from alertbot.tex import display

ARXIV_ABS = "https://arxiv.org/abs/{id}"
ARXIV_PDF = "https://arxiv.org/pdf/{id}"
HF_PAPER = "https://huggingface.co/papers/{id}"
HF_SEARCH = "https://huggingface.co/papers?q={q}"
DOI_URL = "https://doi.org/{doi}"
# Listing formats that come from Hugging Face pages or its API.
HF_FORMATS = frozenset({"hf-json", "blocks", "lines"})
MAX_AUTHORS = 3
ELLIPSIS = "…"

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SPACES = re.compile(r"\s+")
# A start or end tag, its quoted attribute values whole: the inliner's serialiser writes
# every value in double quotes, a '"' in it as &quot;, but leaves '>' as it is.
HTML_TAG = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")
# Controls, invisible format characters and bidi controls (overrides, embeddings,
# isolates and marks, which can make a title read differently from what it is), and
# line/paragraph separators. A regex rather than unicodedata per character: this runs
# over every abstract of every digest.
_HIDDEN = (
    "\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff"
)
_JOINERS = "\u200c\u200d"  # ZWNJ, ZWJ
# Everything hidden, joiners included: nothing invisible belongs in a link.
_CONTROLS = re.compile(f"[{_HIDDEN}{_JOINERS}]")
# In text, a joiner that follows a visible character stays: it is part of that character
# (UAX #29 extends the grapheme with it), as in the emoji 👩‍🔬 (woman, ZWJ, microscope),
# the Persian ZWNJ of می‌خواهم or the ZWJ of a Malayalam chillu at a word's end. After a
# space, the start or another joiner, it joins nothing and goes like the others.
_INVISIBLE = re.compile(f"[{_HIDDEN}]|(?<![^\\s{_HIDDEN}{_JOINERS}])[{_JOINERS}]")

Span = tuple[int, int]


def day_label(day: date) -> str:
    """``Mon 23 Nov``, the same in every locale."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` on one line: control and separator characters (CR, LF, U+2028...) become
    spaces, runs of spaces collapse; cut to ``limit`` characters with an ellipsis."""
    if text.isprintable() and "  " not in text:
        # Fast path (most strings): isprintable() is False for every control, format and
        # separator character except the ASCII space.
        cleaned = text.strip()
    else:
        cleaned = _SPACES.sub(" ", _INVISIBLE.sub(" ", text)).strip()
    return trim(cleaned, limit) if limit is not None else cleaned


def trim(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return text[: max(limit, 0)]
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= len(cut) * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + ELLIPSIS


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL without whitespace or controls, else None."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if _CONTROLS.search(url) or any(c.isspace() for c in url):
        return None
    return url


def paper_links(paper: Paper) -> list[tuple[str, str]]:
    """(label, url) pairs for a paper: arXiv abstract and PDF, Hugging Face page, code,
    project page and DOI when known; else its URL."""
    links: list[tuple[str, str]] = []
    if paper.arxiv_id:
        links.append(("arXiv", ARXIV_ABS.format(id=quote(paper.arxiv_id, safe="/."))))
        links.append(("PDF", ARXIV_PDF.format(id=quote(paper.arxiv_id, safe="/."))))
        hf = safe_url(paper.hf_url)
        if hf is None and paper.source_format in HF_FORMATS:
            hf = HF_PAPER.format(id=quote(paper.arxiv_id, safe="/."))
        if hf:
            links.append(("Hugging Face", hf))
        return links + _extra_links(paper)
    url = safe_url(paper.url)
    if url:
        links.append(("Link", url))
    elif paper.source_format in HF_FORMATS:
        # Listing dumps give no link, only the title: the Hugging Face search finds it.
        links.append(("Hugging Face", HF_SEARCH.format(q=quote(one_line(paper.title)))))
    return links + _extra_links(paper)


def _extra_links(paper: Paper) -> list[tuple[str, str]]:
    """The code and project links Hugging Face gives, and the DOI arXiv gives."""
    links = [(label, safe_url(url)) for label, url in (("Code", paper.github_repo),
             ("Project", paper.project_page))]  # fmt: skip
    if paper.doi:
        links.append(("DOI", safe_url(DOI_URL.format(doi=quote(paper.doi.strip(), safe="/.")))))
    return [(label, url) for label, url in links if url]


def paper_facts(paper: Paper) -> list[str]:
    """Short facts shown beside the byline: primary category, upvotes, journal reference."""
    facts = [paper.primary_category or (paper.categories[0] if paper.categories else "")]
    if paper.upvotes:
        facts.append(f"{paper.upvotes} upvote{'s' if paper.upvotes != 1 else ''}")
    if paper.journal_ref:
        facts.append(trim(one_line(paper.journal_ref), 120))
    return [f for f in facts if f]


@dataclass(frozen=True, slots=True)
class DigestLinks:
    """A delivered digest's links to the web: its own page (every match, the papers left
    out included) and the reader's archive (``alertbot.links``)."""

    page: str
    archive: str


def more_hint(more: int, *, slack: bool, linked: bool = False) -> str:
    """The "and N more" line, saying how to see the papers left out (``linked``: the
    line is a link to the digest's page)."""
    papers = f"{more} more matching paper{'s' if more != 1 else ''}"
    if linked:
        return f"… and {papers} not shown: see them all on the web"
    if slack:
        return f"… and {papers}: type /subscribe preview to see them all."
    return (
        f"… and {papers} not shown: see them all with /subscribe preview in Slack, or ask "
        "whoever runs alertbot for `alertbot digest preview` with your name."
    )


def authors_text(paper: Paper, max_authors: int = MAX_AUTHORS) -> str:
    """``A, B, C et al.`` (the first authors, as a prefix of ``", ".join(authors)``)."""
    if paper.authors:
        # display_text, not one_line: the matcher's author spans must keep their offsets.
        shown = ", ".join(display_text(a, None) for a in paper.authors[:max_authors])
        return shown + (" et al." if len(paper.authors) > max_authors else "")
    if paper.n_authors:
        return f"{paper.n_authors} author{'s' if paper.n_authors != 1 else ''}"
    return ""


def spans_for(match: Match, field: Field) -> list[Span]:
    """Every highlight span of one field, from all the match's hits."""
    return [span for hit in match.hits if hit.field == field for span in hit.spans]


def merge_spans(spans: Iterable[Span], length: int) -> list[Span]:
    """Sorted, non-overlapping spans clipped to ``[0, length)``; empty ones dropped."""
    clipped = sorted((max(a, 0), min(b, length)) for a, b in spans)
    merged: list[Span] = []
    for start, end in clipped:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def segments(text: str, spans: Sequence[Span]) -> list[tuple[str, bool]]:
    """``text`` split into (piece, highlighted) runs by :func:`merge_spans` spans."""
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in merge_spans(spans, len(text)):
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < len(text):
        out.append((text[at:], False))
    return out


def highlight_html(text: str, spans: Sequence[Span]) -> Markup:
    """``text`` as HTML with the spans wrapped in ``<mark>``; each piece escaped on its own,
    so a span can never split an entity or a tag."""
    # Plain string work with html.escape (the same five characters as markupsafe): this
    # runs for every field of every paper, and Markup.format per piece was a hot spot.
    return Markup(  # noqa: S704 - every piece is escaped just above
        "".join(
            f"<mark>{html.escape(piece)}</mark>" if marked else html.escape(piece)
            for piece, marked in segments(text, spans)
        )
    )


def display_text(text: str, limit: int | None) -> str:
    """A field as shown: TeX as Unicode (``alertbot.tex``, the text the matcher's spans
    index), CR/LF and controls turned into spaces (offsets kept), then trimmed.

    Characters are replaced one for one, never removed, so the matcher's spans still
    point at the same characters.
    """
    text = display(text)
    if limit is not None:
        text = trim(text, limit)
    return text if text.isprintable() else _INVISIBLE.sub(" ", text)


def why(match: Match, *, limit: int = 300) -> str:
    """One line: the interests that matched and the terms found."""
    # Queries are shown as typed (they may carry their own quotes), separated by "; ".
    interests = "; ".join(one_line(q) for q in match.interests)
    terms = list(dict.fromkeys(one_line(h.term) for h in match.hits if h.term))
    line = f"your interest{'s' if len(match.interests) != 1 else ''} {interests}"
    if terms:
        line += f" (found: {', '.join(terms)})"
    return trim(line, limit)


# The digest header's line when the learned ranking ordered the digest.
LEARNED_NOTE = (
    "Ordered with your feedback: papers like those you found useful come first "
    "(keyword matching still decides which papers are in)."
)


def sentence(text: str) -> str:
    """``text`` with its first letter upper case (``str.capitalize`` would lower the rest)."""
    return text[:1].upper() + text[1:]


def reason_text(reason: RankReason) -> str:
    """The learned ranking's reason in words: "ranked up: like 3 papers you found useful,
    on speculative decoding" (terms as the papers write them, quoted by the caller's
    markup if it wants)."""
    verdict = "you found useful" if reason.direction == "up" else "you marked not useful"
    head = f"ranked {reason.direction}"
    if not reason.terms:
        return f"{head}: from your feedback"
    on = " and ".join(one_line(t) for t in reason.terms)
    if reason.like:
        papers = f"{reason.like} paper{'s' if reason.like != 1 else ''}"
        return f"{head}: like {papers} {verdict}, on {on}"
    return f"{head}: on {on}, from your feedback"


def suggestion_text(suggestion: Suggestion) -> str:
    """A query suggestion in words: 'add interest "speculative decoding"? (in 4 papers
    you found useful, 0 you marked not useful)'."""
    verb = "add interest" if suggestion.kind == "interest" else "exclude"
    return (
        f"{verb} {suggestion.query}? (in {suggestion.useful} papers you found useful, "
        f"{suggestion.not_useful} you marked not useful)"
    )

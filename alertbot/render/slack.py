"""A digest as Slack Block Kit: a small builder (blocks are data, a template adds nothing).

Layout: a header (and, when the learned ranking ordered the digest, a context line saying
so); per paper a section (linked title, byline, trimmed abstract), a context line with
why it matched, an actions block with the feedback buttons, and a divider; an "and N
more" section (a link to the digest's page when it has one); the query suggestions; a
footer with the web links and the unsubscribe button.

Slack's limits are constants here: at most 50 blocks (papers beyond what fits join the
"and N more" count), header text 150 characters, section text 3,000, button text 75.

Untrusted text (titles, abstracts, authors, queries) is made inert:

* ``&``, ``<`` and ``>`` are escaped, so ``<!channel>`` or ``<https://evil|click>`` in a
  title is shown, not acted on; every mrkdwn text object is ``verbatim`` so Slack does not
  link-ify bare ``@channel``, ``#channel`` or URLs either.
* mrkdwn formatting has no escape character, so ``*``, ``_``, ``~`` and `````
  are replaced by look-alikes (U+2217, U+02CD, U+223C, U+02CB): a title reads the same
  and cannot turn the rest of the message bold.

Action ids: ``feedback_useful`` / ``feedback_not_useful`` (value: the paper id) in one
actions block per paper whose ``block_id`` is ``feedback:<paper id>`` (action ids need
only be unique within a block); ``unsubscribe`` (value: the endpoint id) in the footer;
``suggestion_accept`` (value: JSON ``[kind, query]``) beside each query suggestion of a
digest the learned ranking ordered.
"""

from __future__ import annotations

import json
from typing import Any

from alertbot.model import Digest, DigestItem, Suggestion
from alertbot.render.parts import (
    LEARNED_NOTE,
    DigestLinks,
    authors_text,
    day_label,
    display_text,
    more_hint,
    one_line,
    paper_facts,
    paper_links,
    reason_text,
    sentence,
    suggestion_text,
    trim,
    why,
)

MAX_BLOCKS = 50
HEADER_CHARS = 150
SECTION_CHARS = 3000
BUTTON_CHARS = 75
MAX_URL_CHARS = 1000
BLOCKS_PER_PAPER = 4  # section, context, actions, divider
FIXED_BLOCKS = 4  # header, "and N more", footer context, footer actions
MAX_PAPERS = (MAX_BLOCKS - FIXED_BLOCKS) // BLOCKS_PER_PAPER
MAX_SUGGESTIONS = 3  # one section each, before the footer: fewer papers fit
TITLE_CHARS = 300
ABSTRACT_CHARS = 280

# Replacements in order (& first); str.replace chains beat str.translate with a dict.
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_NEUTRAL = (("*", "\u2217"), ("_", "\u02cd"), ("~", "\u223c"), ("`", "\u02cb"))


def mrkdwn_text(text: str) -> str:
    """Untrusted text made inert for a mrkdwn field: escaped, formatting neutralised."""
    for old, new in (*_ESCAPES, *_NEUTRAL):
        if old in text:
            text = text.replace(old, new)
    return text


def link(url: str, label: str) -> str:
    """A mrkdwn link ``<url|label>``; ``url`` is already a checked http(s) URL."""
    target = url
    for old, new in _ESCAPES:
        target = target.replace(old, new)
    target = target.replace("|", "%7C")
    return f"<{target}|{mrkdwn_text(label)}>"


def build(digest: Digest, links: DigestLinks | None = None) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for ``digest``; never more than :data:`MAX_BLOCKS` blocks.

    ``links``: the "and N more" line links to the digest's page, and the footer to it and
    to the reader's archive. A digest the learned ranking ordered has its query
    suggestions (at most :data:`MAX_SUGGESTIONS`, each a section: fewer papers fit).
    """
    suggestions = digest.suggestions[:MAX_SUGGESTIONS]
    noted = 1 if digest.learned else 0  # the learned note, a context under the header
    room = (MAX_BLOCKS - FIXED_BLOCKS - noted - len(suggestions)) // BLOCKS_PER_PAPER
    items = digest.items[:room]
    more = digest.more + len(digest.items) - len(items)
    total = len(digest.items) + digest.more
    day = day_label(digest.digest_date)
    if total:
        summary = f"alertbot: {total} new paper{'s' if total != 1 else ''} for you - {day}"
    else:
        summary = f"alertbot: nothing new for you - {day}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(one_line(summary, HEADER_CHARS))},
    ]
    if digest.learned:
        blocks.append({"type": "context", "elements": [_mrkdwn(LEARNED_NOTE)]})
    for item in items:
        blocks.extend(_paper_blocks(item))
    if more and links is not None:
        blocks.append(_section(link(links.page, more_hint(more, slack=True, linked=True))))
    elif more:
        blocks.append(_section(mrkdwn_text(more_hint(more, slack=True))))
    elif not items:
        blocks.append(_section("Nothing new matched your interests today."))
    footer = [_mrkdwn("Change your interests with `/subscribe`, for example `/subscribe help`.")]
    if links is not None:
        web = f"{link(links.page, 'Open in your browser')} · {link(links.archive, 'Past digests')}"
        footer.append(_mrkdwn(web))
    blocks.extend(suggestion_block(n, s) for n, s in enumerate(suggestions))
    blocks.append({"type": "context", "elements": footer})
    blocks.append(
        {
            "type": "actions",
            "block_id": "digest_footer",
            "elements": [
                {
                    "type": "button",
                    "text": _plain("Unsubscribe"),
                    "action_id": "unsubscribe",
                    "value": str(digest.endpoint.id),
                    "style": "danger",
                    "confirm": {
                        "title": _plain("Unsubscribe?"),
                        "text": _plain("You will get no more digests here."),
                        "confirm": _plain("Unsubscribe"),
                        "deny": _plain("Keep them"),
                    },
                }
            ],
        }
    )
    return mrkdwn_text(summary), blocks


def suggestion_block(n: int, suggestion: Suggestion) -> dict[str, Any]:
    """A query suggestion with the button that accepts it (``suggestion_accept``)."""
    label = "Add" if suggestion.kind == "interest" else "Exclude"
    value = json.dumps([suggestion.kind, suggestion.query], ensure_ascii=False)
    return {
        "type": "section",
        "block_id": f"suggestion:{n}",
        "text": _mrkdwn(mrkdwn_text(sentence(suggestion_text(suggestion)))),
        "accessory": _button(label, "suggestion_accept", value),
    }


def _paper_blocks(item: DigestItem) -> list[dict[str, Any]]:
    paper = item.paper
    context = [_mrkdwn(mrkdwn_text(why(item.match)))]
    if item.reason is not None:
        context.append(_mrkdwn(mrkdwn_text(sentence(reason_text(item.reason)))))
    return [
        _section(_paper_text(item)),
        {"type": "context", "elements": context},
        {
            "type": "actions",
            "block_id": f"feedback:{paper.id}",
            "elements": [
                _button("Useful", "feedback_useful", paper.id),
                _button("Not useful", "feedback_not_useful", paper.id),
            ],
        },
        {"type": "divider"},
    ]


def _paper_text(item: DigestItem) -> str:
    paper = item.paper
    links = [(label, url) for label, url in paper_links(paper) if len(url) <= MAX_URL_CHARS]
    title_limit, abstract_limit = TITLE_CHARS, ABSTRACT_CHARS
    while True:
        title = one_line(display_text(paper.title, title_limit))
        head = f"*{link(links[0][1], title)}*" if links else f"*{mrkdwn_text(title)}*"
        facts = (trim(authors_text(paper), 200), _date(item), *paper_facts(paper))
        meta = [mrkdwn_text(p) for p in facts if p]
        meta += [link(url, label) for label, url in links[1:]]
        lines = [head, " · ".join(meta)]
        abstract = one_line(display_text(paper.abstract, abstract_limit)) if abstract_limit else ""
        if abstract:
            lines.append(mrkdwn_text(abstract))
        text = "\n".join(line for line in lines if line)
        # Escaping can grow text fivefold (& -> &amp;): shrink until Slack's limit holds.
        if len(text) <= SECTION_CHARS:
            return text
        if abstract_limit:
            abstract_limit = abstract_limit // 2 if abstract_limit > 40 else 0
        elif title_limit > 20:
            title_limit //= 2
        else:
            # Only absurd authors or URLs get here: the bare title always fits.
            return f"*{mrkdwn_text(title)}*"


def _date(item: DigestItem) -> str:
    return item.paper.published.isoformat() if item.paper.published else ""


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _button(label: str, action_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": _plain(trim(label, BUTTON_CHARS)),
        "action_id": action_id,
        "value": value,
    }

"""Synthetic listings of any size in every format, for ``alertbot bench parse``.

Built by repeating real (title, abstract) pairs and varying each copy, so every
generated paper is distinct (its own title, and its own arXiv id where the format
has one) and the text has the shape and length of real listings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from xml.sax.saxutils import escape

Pair = tuple[str, str]


def _variants(pairs: Sequence[Pair], n: int) -> list[Pair]:
    if not pairs:
        raise ValueError("no seed papers to vary")
    return [
        (f"{pairs[k % len(pairs)][0]} (variant {k})", pairs[k % len(pairs)][1]) for k in range(n)
    ]


def _arxiv(k: int) -> str:
    return f"25{k // 90000 % 12 + 1:02d}.{k % 90000 + 10000:05d}"


def _day(k: int) -> date:
    return date(2024, 1, 1) + timedelta(days=k % 600)


def blocks_dump(pairs: Sequence[Pair], n: int) -> bytes:
    """A blocks-layout dump of ``n`` papers, each with its meta paragraph."""
    parts = ["new", "Get trending papers in your email inbox!", "Subscribe", "Daily Papers"]
    parts += ["byAK and the research community", "Oct 13"]
    for k, (title, abstract) in enumerate(_variants(pairs, n)):
        when = _day(k)
        meta = f"  • {k % 12 + 1} authors\n·\n{when:%b} {when.day}, {when.year}"
        parts += [title, abstract, meta]
    return ("\n\n".join(parts) + "\n").encode("utf-8")


def lines_dump(pairs: Sequence[Pair], n: int) -> bytes:
    """A lines-layout dump of ``n`` papers (first title glued to "Subscribe")."""
    lines = ["Get trending papers in your email inbox once a day!"]
    lines.append("Get trending papers in your email inbox!")
    for k, (title, abstract) in enumerate(_variants(pairs, n)):
        lines += [("Subscribe" if k == 0 else "") + title, abstract]
    return "\n".join(lines).encode("utf-8")


def hf_json(pairs: Sequence[Pair], n: int) -> bytes:
    """A Hugging Face daily-papers JSON array of ``n`` papers."""
    rows = [
        {
            "paper": {
                "id": _arxiv(k),
                "title": title,
                "summary": abstract,
                "authors": [{"name": f"Author {k}-{a}"} for a in range(k % 5 + 1)],
                "publishedAt": f"{_day(k).isoformat()}T12:00:00.000Z",
                "upvotes": k % 50,
            },
            "numComments": k % 3,
        }
        for k, (title, abstract) in enumerate(_variants(pairs, n))
    ]
    return json.dumps(rows).encode("utf-8")


def arxiv_rss(pairs: Sequence[Pair], n: int) -> bytes:
    """An arXiv listing RSS feed of ``n`` new papers."""
    items = []
    for k, (title, abstract) in enumerate(_variants(pairs, n)):
        aid = _arxiv(k)
        items.append(
            f"<item><title>{escape(title)}</title><link>https://arxiv.org/abs/{aid}</link>"
            f"<description>arXiv:{aid}v1 Announce Type: new \nAbstract: {escape(abstract)}"
            f'</description><guid isPermaLink="false">oai:arXiv.org:{aid}v1</guid>'
            f"<category>cs.CL</category><pubDate>Mon, 08 Apr 2024 00:00:00 -0400</pubDate>"
            f"<arxiv:announce_type>new</arxiv:announce_type>"
            f"<dc:creator>Author {k}, Other Author</dc:creator></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss xmlns:arxiv="http://arxiv.org/schemas/atom"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        "<title>cs.CL updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.CL</link>"
        "<description>cs.CL updates</description>" + "".join(items) + "</channel></rss>"
    ).encode("utf-8")


GENERATORS = {"blocks": blocks_dump, "lines": lines_dump, "hf-json": hf_json, "feed": arxiv_rss}

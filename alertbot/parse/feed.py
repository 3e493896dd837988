"""arXiv listing feeds (RSS 2.0 and Atom from rss.arxiv.org) and the export API Atom.

Read through feedparser. Listing feeds prefix each abstract with
``arXiv:2404.03715v1 Announce Type: new`` and ``Abstract:``, which we strip, keeping
the announce type: ``new`` and ``cross`` are ingested, replacements are skipped (and
counted) unless asked for. ``dc:creator`` holds all authors in one ", "-joined string.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import feedparser

from alertbot.model import Paper, arxiv_id, paper_id
from alertbot.parse.base import ParseError, ParseResult

FORMAT = "feed"
INGESTED_ANNOUNCE_TYPES = frozenset({"new", "cross"})
ABS_URL = "https://arxiv.org/abs/{id}"

_PREFIX = re.compile(
    r"^\s*arXiv:\S+\s+Announce\s+Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?", re.IGNORECASE
)
# Where an id sits in a feed: "oai:arXiv.org:2404.03715v1", "http://arxiv.org/abs/2404.03715v1".
_ID_IN = re.compile(r"(?:oai:arxiv\.org:|arxiv\.org/abs/|^arxiv:)(?P<id>\S+?)/?$", re.IGNORECASE)


def parse(
    data: bytes, *, name: str, fetched_at: datetime, include_replacements: bool = False
) -> ParseResult:
    """Papers in an arXiv RSS/Atom feed; ``fetched_at`` is unused (entries carry dates)."""
    feed = feedparser.parse(data)
    if not feed.get("version"):
        reason = feed.get("bozo_exception") or "no RSS or Atom feed found"
        raise ParseError(name, f"not a feed: {reason}")
    papers: list[Paper] = []
    skipped = 0
    for entry in feed.entries:
        paper = _paper(entry)
        if paper is None:
            continue
        replacement = paper.announce_type not in (None, *INGESTED_ANNOUNCE_TYPES)
        if replacement and not include_replacements:
            skipped += 1
            continue
        papers.append(paper)
    if not papers and not skipped:
        raise ParseError(name, "feed has no entries with a title, not a listing")
    return ParseResult(papers=papers, format=FORMAT, skipped=skipped)


def _paper(entry: Any) -> Paper | None:
    title = _clean(entry.get("title"))
    if not title:
        return None
    summary = _clean(entry.get("summary"))
    announce = entry.get("arxiv_announce_type")
    prefix = _PREFIX.match(summary)
    if prefix:
        announce = announce or prefix["type"]
        summary = summary[prefix.end() :].strip()
    arxiv = _entry_arxiv_id(entry)
    authors = _authors(entry)
    return Paper(
        id=paper_id(title, arxiv),
        title=title,
        abstract=summary,
        source_format=FORMAT,
        authors=authors,
        n_authors=len(authors) or None,
        published=_date(entry.get("published_parsed") or entry.get("updated_parsed")),
        url=ABS_URL.format(id=arxiv) if arxiv else entry.get("link"),
        arxiv_id=arxiv,
        categories=tuple(
            dict.fromkeys(t["term"] for t in entry.get("tags") or () if t.get("term"))
        ),
        doi=_clean(entry.get("arxiv_doi")) or None,
        announce_type=_clean(announce).lower() or None,
    )


def _entry_arxiv_id(entry: Any) -> str | None:
    for candidate in (entry.get("id"), entry.get("link")):
        if isinstance(candidate, str):
            m = _ID_IN.search(candidate.strip())
            if m and (found := arxiv_id(m["id"])):
                return found
    return None


def _authors(entry: Any) -> tuple[str, ...]:
    names = [_clean(a.get("name")) for a in entry.get("authors") or ()]
    names = [n for n in names if n]
    # Listing feeds put every author in one dc:creator; the export API has one each.
    if len(names) == 1 and ", " in names[0]:
        names = [n.strip() for n in names[0].split(", ") if n.strip()]
    return tuple(names)


def _clean(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _date(parsed: Any) -> date | None:
    if not parsed:
        return None
    year, month, day = parsed[:3]  # feedparser's struct_time is already in UTC
    return date(year, month, day)

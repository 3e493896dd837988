"""arXiv feeds: rss.arxiv.org RSS 2.0 and Atom, and the export API's Atom.

Read with a real XML parser (the standard library's expat, through defusedxml), not
feedparser. feedparser is built for the open web's broken feeds, and each of its
kindnesses damages arXiv's text: its HTML sanitiser turns TeX such as ``$2<q<p$``
into fake tags and drops text, it unescapes ``&amp;`` a second time on the way to the
renderers, and it accepts a truncated or otherwise broken document ("bozo") and hands
back the entries before the cut. arXiv's feeds are one well-formed vocabulary, so:

- text comes out as the source meant it: entities decoded once, by the XML parser,
  nothing sanitised away (every renderer escapes on output);
- a document that is not well-formed (a truncated download) is refused whole with
  the parser's one-line reason, so nothing from it is stored and the next fetch
  retries;
- a DTD or entity declaration is refused outright (``forbid_dtd``): feeds come from
  the network, and the billion-laughs shape must never be expanded;
- it is also faster: 16.6k papers/s against feedparser's 2.8k on the same 10,000-entry
  feed (``alertbot bench parse``, 2 shared cores).

Listing feeds prefix each abstract with ``arXiv:2404.03715v1 Announce Type: new`` and
``Abstract:``, which is stripped (the type is kept). Which announce types are kept is
the caller's choice (``new`` and ``cross`` by default); the others are counted in
``ParseResult.skipped``. A feed without entries (a weekend's RSS, a zero-result API
query) is an empty listing, not an error; an export-API error answer is an error.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XmlError

import defusedxml
from defusedxml.ElementTree import fromstring

from alertbot.model import Paper, arxiv_id, paper_id
from alertbot.parse.authors import split_creators
from alertbot.parse.base import ParseError, ParseResult

FORMAT = "feed"
DEFAULT_ANNOUNCE_TYPES: tuple[str, ...] = ("new", "cross")
ANNOUNCE_TYPES: tuple[str, ...] = ("new", "cross", "replace", "replace-cross")
ABS_URL = "https://arxiv.org/abs/{id}"

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"

# The export API's own name for itself on the one entry of an error answer.
API_ERROR_AUTHOR = "arXiv api core"

_PREFIX = re.compile(
    r"^\s*arXiv:\S+\s+Announce\s+Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?", re.IGNORECASE
)
# Where an id sits in a feed: "oai:arXiv.org:2404.03715v1", "http://arxiv.org/abs/2404.03715v1".
_ID_IN = re.compile(r"(?:oai:arxiv\.org:|arxiv\.org/abs/|^arxiv:)(?P<id>\S+?)/?$", re.IGNORECASE)


def parse(
    data: bytes,
    *,
    name: str,
    fetched_at: datetime,
    announce_types: Collection[str] = DEFAULT_ANNOUNCE_TYPES,
) -> ParseResult:
    """Papers in an arXiv RSS/Atom feed; ``fetched_at`` is unused (entries carry dates).

    Entries whose announce type is not in ``announce_types`` are counted, not kept;
    entries without one (the export API) are always kept.
    """
    root = _root(data, name=name)
    papers: list[Paper] = []
    skipped = 0
    for entry in _entries(root, name=name):
        paper = _paper(entry, name=name)
        if paper.announce_type is not None and paper.announce_type not in announce_types:
            skipped += 1
            continue
        papers.append(paper)
    return ParseResult(papers=papers, format=FORMAT, skipped=skipped)


def _root(data: bytes, *, name: str) -> Element:
    try:
        root: Element = fromstring(data, forbid_dtd=True)
    except XmlError as exc:
        raise ParseError(name, f"not well-formed XML ({exc}), refused whole") from None
    except defusedxml.DefusedXmlException:
        raise ParseError(
            name, "declares a DTD or entities, refused (a feed from the network never needs one)"
        ) from None
    return root


def _entries(root: Element, *, name: str) -> Iterator[Entry]:
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise ParseError(name, "RSS without a <channel>, not a listing")
        for item in channel.iterfind("item"):
            yield Entry(item, atom=False)
    elif root.tag == f"{ATOM}feed":
        entries = [Entry(e, atom=True) for e in root.iterfind(f"{ATOM}entry")]
        for entry in entries:
            _refuse_api_error(entry, name=name)
        yield from entries
    else:
        raise ParseError(name, f"XML whose root is <{_local(root.tag)}>, not an RSS or Atom feed")


def _refuse_api_error(entry: Entry, *, name: str) -> None:
    """The export API answers a bad query with one entry describing the problem."""
    authors = [a.name for a in entry.authors()]
    entry_id = entry.text("id")
    if "/api/errors" in entry_id or (
        entry.text("title") == "Error" and API_ERROR_AUTHOR in authors
    ):
        detail = entry.text("summary") or entry_id or "no detail given"
        raise ParseError(name, f"the arXiv API answered with an error: {detail}")


class Entry:
    """One RSS ``<item>`` or Atom ``<entry>``, read the same way whatever the dialect."""

    def __init__(self, element: Element, *, atom: bool) -> None:
        self.element = element
        self.atom = atom

    def _find(self, tag: str) -> Element | None:
        # RSS keeps its own elements unqualified; Atom puts them in the Atom namespace.
        if tag.startswith("{"):
            return self.element.find(tag)
        return self.element.find(f"{ATOM}{tag}" if self.atom else tag)

    def text(self, tag: str) -> str:
        """The element's text with layout whitespace (line wrapping) collapsed."""
        found = self._find(tag)
        return " ".join("".join(found.itertext()).split()) if found is not None else ""

    def first(self, *tags: str) -> str:
        return next((value for tag in tags if (value := self.text(tag))), "")

    def categories(self) -> list[str]:
        if self.atom:
            terms = (c.get("term") or "" for c in self.element.iterfind(f"{ATOM}category"))
        else:
            terms = ("".join(c.itertext()) for c in self.element.iterfind("category"))
        return [t.strip() for t in terms if t.strip()]

    def authors(self) -> list[Author]:
        creator = self.text(f"{DC}creator")
        if creator:  # listing feeds: every author in one dc:creator
            return [Author(n, a) for n, a in split_creators(creator)]
        found = []
        for author in self.element.iterfind(f"{ATOM}author"):
            name = " ".join("".join(_itertext(author.find(f"{ATOM}name"))).split())
            affiliations = [
                " ".join("".join(a.itertext()).split())
                for a in author.iterfind(f"{ARXIV}affiliation")
            ]
            if name:
                found.append(Author(name, "; ".join(a for a in affiliations if a)))
        return found

    def link(self) -> str:
        if not self.atom:
            return self.text("link")
        for link in self.element.iterfind(f"{ATOM}link"):
            if link.get("rel", "alternate") == "alternate" and link.get("href"):
                return str(link.get("href"))
        return ""


class Author:
    __slots__ = ("affiliation", "name")

    def __init__(self, name: str, affiliation: str) -> None:
        self.name = name
        self.affiliation = affiliation


def _paper(entry: Entry, *, name: str) -> Paper:
    title = entry.text("title")
    if not title:
        raise ParseError(name, "an entry without a title, not a listing")
    summary = entry.first("summary", "description")
    announce = entry.text(f"{ARXIV}announce_type")
    prefix = _PREFIX.match(summary)
    if prefix:
        announce = announce or prefix["type"]
        summary = summary[prefix.end() :].strip()
    arxiv = _entry_arxiv_id(entry)
    authors = entry.authors()
    categories = tuple(dict.fromkeys(entry.categories()))
    primary = _primary_category(entry) or (categories[0] if categories else None)
    affiliations = tuple(a.affiliation for a in authors)
    extra: dict[str, Any] = {}
    for key, tag in (("comment", f"{ARXIV}comment"), ("rights", f"{DC}rights")):
        if value := entry.text(tag):
            extra[key] = value
    return Paper(
        id=paper_id(title, arxiv),
        title=title,
        abstract=summary,
        source_format=FORMAT,
        authors=tuple(a.name for a in authors),
        affiliations=affiliations if any(affiliations) else (),
        n_authors=len(authors) or None,
        published=_date(entry),
        url=ABS_URL.format(id=arxiv) if arxiv else entry.link() or None,
        arxiv_id=arxiv,
        categories=categories,
        primary_category=primary,
        doi=entry.first(f"{ARXIV}doi", f"{ARXIV}DOI") or None,
        journal_ref=entry.first(f"{ARXIV}journal_ref", f"{ARXIV}journal_reference") or None,
        announce_type=announce.lower() or None,
        extra=extra,
    )


def _primary_category(entry: Entry) -> str | None:
    found = entry.element.find(f"{ARXIV}primary_category")
    term = found.get("term") if found is not None else None
    return term.strip() if term and term.strip() else None


def _entry_arxiv_id(entry: Entry) -> str | None:
    for candidate in (entry.text("id"), entry.text("guid"), entry.link()):
        m = _ID_IN.search(candidate.strip())
        if m and (found := arxiv_id(m["id"])):
            return found
    return None


def _date(entry: Entry) -> date | None:
    """The date as the feed writes it (arXiv's own time zone), not shifted to UTC."""
    if entry.atom:
        text = entry.first("published", "updated")
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date() if text else None
        except ValueError:
            return None
    text = entry.text("pubDate")
    try:
        return parsedate_to_datetime(text).date() if text else None
    except (TypeError, ValueError):
        return None


def _itertext(element: Element | None) -> Iterator[str]:
    return element.itertext() if element is not None else iter(())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]

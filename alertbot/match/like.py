"""``like:`` interests, as the query language reads them: ``like:2405.12345`` or
``like:"a paper's title"``, a whole interest on its own. Pure.

A like: interest matches the papers whose tf-idf similarity to the named paper passes
``[learn] like_threshold`` (:mod:`alertbot.learn.like`). Keyword matching has no part in
it: :func:`like_query` gives it a tree that no paper satisfies (a category term with a
value no arXiv category can have), so both keyword engines (the reference evaluator and
the index) take profiles with like: interests unchanged and match nothing for them; the
dispatcher evaluates them in a pass of their own over the day's papers
(:mod:`alertbot.readers`), since few readers have them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alertbot.match.normalise import tokenise
from alertbot.match.query import CATEGORY, Query, QueryError, Term
from alertbot.model import arxiv_id

PREFIX = "like:"
LIKE_EXCLUSION = "like: is an interest, not an exclusion (exclude the words instead)"
# Category values are letters, dots and dashes: one with a colon is no category at all.
_NEVER = "like:"
_VERSION = re.compile(r"(?:v\d+)?")


@dataclass(frozen=True, slots=True)
class LikeRef:
    """The paper a like: interest names: by arXiv id, or by title."""

    text: str  # the interest as written
    arxiv: str | None = None
    title: str | None = None


def is_like(text: str) -> bool:
    """Whether ``text`` is a like: interest (well formed or not)."""
    return text.lstrip()[: len(PREFIX)].lower() == PREFIX


def parse_like(text: str) -> LikeRef:
    """The paper ``text`` (``like:ID`` or ``like:"title"``) names, or QueryError with the
    1-based column of what is wrong."""
    start = len(text) - len(text.lstrip())
    at = start + len(PREFIX)  # 0-based index just after "like:"
    rest = text[at:]
    col = at + 1
    if not rest.strip():
        raise QueryError("like: needs an arXiv id or a quoted title (like:2405.12345)", col)
    if rest[0].isspace():
        raise QueryError("like: takes its paper right after the colon, no space", col)
    if rest.startswith('"'):
        end = rest.find('"', 1)
        if end < 0:
            raise QueryError("unclosed quote", col)
        title = " ".join(rest[1:end].split())
        if not tokenise(title):
            raise QueryError("like: needs a title with letters or digits", col)
        _nothing_after(rest, end + 1, at)
        return LikeRef(text, title=title)
    raw = rest.split()[0]
    _nothing_after(rest, len(raw), at)
    found = arxiv_id(raw)
    if found is None or not _VERSION.fullmatch(raw[len(found) :]) or not raw.startswith(found):
        raise QueryError(
            f"like: {raw!r} is not an arXiv id (like:2405.12345, or quote a title)", col
        )
    return LikeRef(text, arxiv=found)


def _nothing_after(rest: str, end: int, at: int) -> None:
    tail = rest[end:]
    if tail.strip():
        col = at + end + (len(tail) - len(tail.lstrip())) + 1
        raise QueryError("like: stands alone as an interest (put other terms in another)", col)


def like_query(text: str) -> Query:
    """The Query of a like: interest for the keyword engines: a tree no paper satisfies."""
    ref = parse_like(text)
    key = ref.arxiv or ref.title or ""
    return Query(text, Term(CATEGORY, (_NEVER + key.casefold(),), text), 1)

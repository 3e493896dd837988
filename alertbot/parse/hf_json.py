"""Hugging Face daily papers JSON (``GET https://huggingface.co/api/daily_papers``).

An array of rows; each row's ``paper`` object has ``id`` (arXiv id, no version),
``title``, ``summary``, ``authors[]`` (``name``, and ``hidden`` for an author the
page does not show), ``publishedAt``, ``upvotes`` and, for some, ``githubRepo`` and
``projectPage``. Keys we do not map to a :class:`Paper` field are kept in
``Paper.extra`` so nothing is lost. An empty array is a day without papers.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from alertbot.model import Paper, arxiv_id, paper_id
from alertbot.parse.base import ParseError, ParseResult

FORMAT = "hf-json"
PAPER_URL = "https://huggingface.co/papers/{id}"
ABS_URL = "https://arxiv.org/abs/{id}"
_MAPPED = frozenset(
    {"id", "title", "summary", "authors", "publishedAt", "upvotes", "githubRepo", "projectPage"}
)
# Row keys that repeat the paper object, or are presentation only.
_ROW_SKIP = frozenset({"paper", "title", "summary", "publishedAt", "thumbnail"})


def parse(text: str, *, name: str, fetched_at: datetime) -> ParseResult:
    """Papers in a daily-papers JSON array (``fetched_at`` is unused: dates are full)."""
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(name, f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if isinstance(rows, dict) and isinstance(rows.get("papers"), list):
        rows = rows["papers"]
    if not isinstance(rows, list):
        raise ParseError(name, "JSON is not an array of daily papers")
    papers: list[Paper] = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise ParseError(name, f"row {number} is not an object")
        obj = row.get("paper", row)
        if not isinstance(obj, dict):
            raise ParseError(name, f"row {number}: 'paper' is not an object")
        papers.append(_paper(obj, row, name=name, number=number))
    return ParseResult(papers=papers, format=FORMAT)


def _paper(obj: dict[str, Any], row: dict[str, Any], *, name: str, number: int) -> Paper:
    title = _text(obj.get("title") or row.get("title"))
    abstract = _text(obj.get("summary") or row.get("summary"))
    if not title:
        raise ParseError(name, f"row {number} has no title")
    raw_id = obj.get("id")
    arxiv = arxiv_id(raw_id) if isinstance(raw_id, str) else None
    authors = tuple(
        _text(a.get("name"))
        for a in obj.get("authors") or ()
        if isinstance(a, dict) and _text(a.get("name")) and a.get("hidden") is not True
    )
    extra = {k: v for k, v in obj.items() if k not in _MAPPED}
    row_extra = {k: v for k, v in row.items() if k not in _ROW_SKIP}
    if row_extra:
        extra["row"] = row_extra
    return Paper(
        id=paper_id(title, arxiv),
        title=title,
        abstract=abstract,
        source_format=FORMAT,
        authors=authors,
        n_authors=len(authors) if authors else None,
        published=_date(obj.get("publishedAt") or row.get("publishedAt")),
        url=ABS_URL.format(id=arxiv) if arxiv else None,
        arxiv_id=arxiv,
        extra=extra,
        github_repo=_link(obj.get("githubRepo")),
        project_page=_link(obj.get("projectPage")),
        upvotes=obj["upvotes"] if isinstance(obj.get("upvotes"), int) else None,
        hf_url=PAPER_URL.format(id=arxiv) if arxiv else None,
    )


def _link(value: Any) -> str | None:
    """An http(s) link as given, or None (HF sends "" for a paper without one)."""
    return value.strip() if isinstance(value, str) and value.strip().startswith("http") else None


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None

"""One paper met in several listings is the merge of all of them, whatever the order.

Pure: two :class:`Paper` values in, one out. The store applies it when a listing
brings a paper it already holds; ``load_papers`` applies it within a folder, so that
``alertbot match`` sees each paper once, as the store would.

The rules, each the same whichever listing came first:

- text (title, abstract) and lists (authors, categories): the first non-empty one,
  so an empty abstract is repaired by a later complete listing;
- affiliations travel with the author list they belong to;
- every other field: the first value given, so a later source fills what an
  earlier one lacked (HF's code link and page after arXiv's RSS, arXiv's DOI after
  HF's JSON);
- ``upvotes``: the latest count seen (it only grows);
- ``published``: the earliest date any source gives (HF's submission time and
  arXiv's announcement day differ by a day; the earliest is the paper's date);
- ``extra``: the keys of both, the first listing's value where both have one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from alertbot.model import Paper

FIRST_GIVEN = (
    "n_authors",
    "url",
    "arxiv_id",
    "doi",
    "announce_type",
    "primary_category",
    "journal_ref",
    "github_repo",
    "project_page",
    "hf_url",
)
FIRST_NON_EMPTY = ("title", "abstract", "categories")
# Every field merge_papers may change: what the store writes back for a known paper.
MERGED_FIELDS = (*FIRST_GIVEN, *FIRST_NON_EMPTY, "authors", "affiliations", "upvotes", "published")


def is_title_id(paper_id: str) -> bool:
    """Whether ``paper_id`` is a title hash (no arXiv id was known)."""
    return paper_id.startswith("t-")


def merge_papers(first: Paper, later: Paper) -> Paper:
    """``first`` (the one stored, or met first) completed by ``later``; ``first``'s id stays."""
    changes: dict[str, Any] = {}
    for name in FIRST_GIVEN:
        if getattr(first, name) is None and getattr(later, name) is not None:
            changes[name] = getattr(later, name)
    for name in FIRST_NON_EMPTY:
        if not getattr(first, name) and getattr(later, name):
            changes[name] = getattr(later, name)
    if not first.authors and later.authors:
        changes["authors"], changes["affiliations"] = later.authors, later.affiliations
    elif not first.affiliations and later.affiliations and later.authors == first.authors:
        changes["affiliations"] = later.affiliations
    if later.upvotes is not None and later.upvotes != first.upvotes:
        changes["upvotes"] = later.upvotes
    dates = [d for d in (first.published, later.published) if d is not None]
    if dates and min(dates) != first.published:
        changes["published"] = min(dates)
    extra = {**later.extra, **first.extra}
    if extra != dict(first.extra):
        changes["extra"] = extra
    return replace(first, **changes) if changes else first


def merge_listings(papers: Iterable[Paper]) -> list[Paper]:
    """One paper per identity, merged in order of appearance.

    The identity is the id; a title-hash paper is also the arXiv paper with the same
    normalised title (a dump without ids and a feed with them list the same paper).
    """
    by_id: dict[str, Paper] = {}
    for paper in papers:
        by_id[paper.id] = merge_papers(by_id[paper.id], paper) if paper.id in by_id else paper
    arxiv_by_key: dict[str, str] = {}
    for paper in by_id.values():
        if not is_title_id(paper.id):
            arxiv_by_key.setdefault(paper.title_key, paper.id)
    merged: dict[str, Paper] = {}
    for paper in by_id.values():
        target = arxiv_by_key.get(paper.title_key) if is_title_id(paper.id) else None
        if target is None:
            merged[paper.id] = (
                merge_papers(merged[paper.id], paper) if paper.id in merged else paper
            )
        elif target in merged:
            merged[target] = merge_papers(merged[target], paper)
        else:
            merged[target] = merge_papers(replace(paper, id=target), by_id[target])
    return list(merged.values())

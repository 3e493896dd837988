"""Small paper builders for the matcher tests."""

from __future__ import annotations

from datetime import date

from alertbot.model import Paper


def paper(
    title: str,
    abstract: str = "",
    *,
    id: str | None = None,
    authors: tuple[str, ...] = (),
    published: date | None = None,
    categories: tuple[str, ...] = (),
) -> Paper:
    """A paper with just the fields the matcher reads."""
    return Paper(
        id=id or f"t-{abs(hash((title, abstract))) % 10**8:08d}",
        title=title,
        abstract=abstract,
        source_format="test",
        authors=authors,
        published=published,
        categories=categories,
    )

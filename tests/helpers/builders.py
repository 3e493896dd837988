"""Builders shared by the digest, render and subscriber CLI tests (plain functions, no fixtures)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from alertbot.model import (
    Digest,
    DigestItem,
    Endpoint,
    EndpointKind,
    Hit,
    Match,
    Paper,
    Profile,
    Subscriber,
)

DAY = date(2026, 11, 23)  # a Monday


def paper(
    n: int = 1,
    *,
    title: str | None = None,
    abstract: str = "We study graph neural networks on molecules.",
    authors: Sequence[str] = ("Ada Lovelace", "Grace Hopper"),
    arxiv: bool = True,
    source_format: str = "feed",
    url: str | None = None,
) -> Paper:
    """A paper numbered ``n`` (its arXiv id is 2611.<n>)."""
    aid = f"2611.{n:05d}" if arxiv else None
    return Paper(
        id=aid or f"t-{n:016x}",
        title=title if title is not None else f"Graph paper number {n}",
        abstract=abstract,
        source_format=source_format,
        authors=tuple(authors),
        published=date(2026, 11, 20),
        arxiv_id=aid,
        url=url,
    )


def subscriber(profile: Profile | None = None, **kw: object) -> Subscriber:
    endpoint = email_endpoint()
    return Subscriber(
        id=1,
        name="Ada",
        profile=profile or Profile(interests=("graph",)),
        endpoints=(endpoint,),
        **kw,  # type: ignore[arg-type]
    )


def email_endpoint(endpoint_id: int = 7) -> Endpoint:
    return Endpoint(id=endpoint_id, subscriber_id=1, kind=EndpointKind.EMAIL, address="a@b.org")


def item(p: Paper, hits: Sequence[Hit] = (), score: float = 1.0) -> DigestItem:
    return DigestItem(p, Match(p.id, score, ("graph",), tuple(hits)))


def digest(items: Sequence[DigestItem], more: int = 0) -> Digest:
    sub = subscriber()
    return Digest(sub, sub.endpoints[0], DAY, tuple(items), more)

"""Where listings come from: a file, a folder, an http(s) URL.

``build_source`` turns a configured source into a :class:`Source`; ``load_papers``
is the one-call convenience the CLI uses to parse whatever a user points it at.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from pathlib import Path

import httpx

from alertbot.config_sections import HttpSettings, SourceConfig
from alertbot.model import Paper
from alertbot.parse import DEFAULT_ANNOUNCE_TYPES, ParseResult, parse_bytes
from alertbot.parse.merge import merge_listings
from alertbot.redact import redact_url
from alertbot.sources.base import Document, Fetched, Source, SourceError, Validators
from alertbot.sources.files import FileSource, FolderSource
from alertbot.sources.http import HttpSource, make_client

__all__ = [
    "Document",
    "Fetched",
    "FileSource",
    "FolderSource",
    "HttpSource",
    "Source",
    "SourceError",
    "Validators",
    "build_source",
    "is_url",
    "load_listing",
    "load_papers",
    "make_client",
]


def is_url(location: str) -> bool:
    """Whether ``location`` is an http(s) URL rather than a path."""
    return location.startswith(("http://", "https://"))


def build_source(
    config: SourceConfig, *, http: httpx.Client | None, settings: HttpSettings
) -> Source:
    """The source for ``config``: an URL, a folder, or else a file."""
    if is_url(config.location):
        if http is None:
            raise SourceError(f"{redact_url(config.location)}: no HTTP client to fetch it with")
        return HttpSource(config.name, config.location, client=http, settings=settings)
    if "://" in config.location:
        raise SourceError(
            f"{redact_url(config.location)}: only http(s) URLs, files and folders are supported"
        )
    if Path(config.location).expanduser().is_dir():
        return FolderSource(config.name, config.location, max_bytes=settings.max_bytes)
    return FileSource(config.name, config.location, max_bytes=settings.max_bytes)


def load_papers(
    location: str,
    *,
    format: str = "auto",
    now: datetime,
    http: httpx.Client | None = None,
    settings: HttpSettings | None = None,
) -> list[Paper]:
    """The papers of the listing(s) at a file, folder or URL, each paper once.

    Raises SourceError or ParseError.
    """
    return load_listing(location, format=format, now=now, http=http, settings=settings).papers


def load_listing(
    location: str,
    *,
    format: str = "auto",
    now: datetime,
    http: httpx.Client | None = None,
    settings: HttpSettings | None = None,
    announce_types: Collection[str] = DEFAULT_ANNOUNCE_TYPES,
) -> ParseResult:
    """Parse the listing(s) at a file, folder or URL; raises SourceError or ParseError.

    A paper met in several files of a folder is merged as the store merges it, so it
    is listed once; ``skipped`` adds up the announcements left out.
    """
    settings = settings or HttpSettings()
    client = http or (make_client(settings) if is_url(location) else None)
    try:
        source = build_source(
            SourceConfig(name=redact_url(location), location=location, format=format),
            http=client,
            settings=settings,
        )
        fetched = source.fetch()
    finally:
        if client is not None and http is None:
            client.close()
    papers: list[Paper] = []
    skipped = 0
    formats: list[str] = []
    for document in fetched.documents:
        result = parse_bytes(
            document.data,
            name=document.name,
            format=format,
            fetched_at=now,
            announce_types=announce_types,
        )
        papers.extend(result.papers)
        skipped += result.skipped
        formats.append(result.format)
    return ParseResult(
        papers=merge_listings(papers),
        format=formats[0] if len(set(formats)) == 1 else "mixed",
        skipped=skipped,
    )

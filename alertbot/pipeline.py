"""Where the stages meet I/O: fetch -> parse -> store (-> match -> render -> deliver).

``fetch_sources`` pulls every configured source into the store. A failing source
never stops the others, and every source fetched leaves a row in the fetch log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import Engine

from alertbot import metrics
from alertbot.config import Settings, SourceConfig
from alertbot.logs import get_logger
from alertbot.parse import ParseError, parse_bytes
from alertbot.sources import Source, SourceError, build_source, is_url, make_client
from alertbot.sources.base import Document, Validators
from alertbot.store.fetches import (
    FetchRecord,
    http_validators,
    ingested_hashes,
    record_fetch,
    record_ingested_file,
    save_http_validators,
)
from alertbot.store.papers import upsert_papers

log = get_logger(__name__)


@dataclass(frozen=True)
class FetchOutcome:
    """How one source's fetch went (``status``: ok, not_modified or error)."""

    source: str
    status: str
    n_new: int = 0
    n_known: int = 0
    n_rejected: int = 0
    error: str | None = None
    n_parsed: int = 0
    n_skipped_files: int = 0
    n_skipped_entries: int = 0


@dataclass
class _Tally:
    parsed: int = 0
    new: int = 0
    known: int = 0
    skipped_entries: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def fetch_sources(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    http: httpx.Client | None = None,
    only: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[FetchOutcome]:
    """Fetch the configured sources (or only the one named ``only``) into the store.

    ``progress`` is called with "NAME: STATUS" after each source. Raises
    ``ValueError`` if ``only`` names no configured source.
    """
    configs = [s for s in settings.sources if only is None or s.name == only]
    if only is not None and not configs:
        raise ValueError(f"no source named {only!r}")
    client = http
    if client is None and any(is_url(c.location) for c in configs):
        client = make_client(settings.http)
    outcomes: list[FetchOutcome] = []
    try:
        for config in configs:
            outcome = _fetch_one(engine, settings, config, now=now, http=client)
            outcomes.append(outcome)
            if progress is not None:
                progress(f"{config.name}: {outcome.status}")
    finally:
        if client is not None and http is None:
            client.close()
    return outcomes


def _fetch_one(
    engine: Engine,
    settings: Settings,
    config: SourceConfig,
    *,
    now: Callable[[], datetime],
    http: httpx.Client | None,
) -> FetchOutcome:
    started = now()
    tally = _Tally()
    status = "ok"
    skipped_files = 0
    documents: list[Document] = []
    try:
        source = build_source(config, http=http, settings=settings.http)
        validators = (
            Validators(*http_validators(engine, config.location)) if source.conditional else None
        )
        fetched = source.fetch(validators)
        status = fetched.status
        documents = fetched.documents
        if source.skip_known_files and documents:
            known = ingested_hashes(engine, config.name, (d.content_hash for d in documents))
            skipped_files = sum(1 for d in documents if d.content_hash in known)
            documents = [d for d in documents if d.content_hash not in known]
        for document in documents:
            _ingest(engine, source, config, document, tally, fetched_at=started)
        if source.conditional and status == "ok" and not tally.errors:
            # Saved only now: had parsing or storing failed, a 304 next time would
            # hide the content we never stored.
            save_http_validators(
                engine,
                config.location,
                etag=fetched.validators.etag,
                last_modified=fetched.validators.last_modified,
                now=started,
            )
    except SourceError as exc:
        tally.errors.insert(0, str(exc))
    except Exception as exc:  # a failing source must not stop the others
        log.exception("fetch failed", source=config.name)
        tally.errors.insert(0, f"{config.location}: {exc.__class__.__name__}: {exc}")
    if tally.errors:
        status = "error"
    error = "; ".join(tally.errors) or None
    record = FetchRecord(
        source=config.name,
        location=config.location,
        started_at=started,
        finished_at=now(),
        status=status,
        n_parsed=tally.parsed,
        n_new=tally.new,
        n_known=tally.known,
        n_rejected=tally.rejected,
        error=error,
        n_skipped_files=skipped_files,
    )
    record_fetch(engine, record)
    metrics.fetches.labels(config.name, status).inc()
    metrics.papers_ingested.labels(config.name).inc(tally.new)
    if status == "error":
        metrics.fetch_errors.labels(config.name).inc()
    log.info(
        "fetched source",
        source=config.name,
        status=status,
        new=tally.new,
        known=tally.known,
        rejected=record.n_rejected,
        skipped_files=skipped_files,
        **({"error": error} if error else {}),
    )
    return FetchOutcome(
        source=config.name,
        status=status,
        n_new=tally.new,
        n_known=tally.known,
        n_rejected=record.n_rejected,
        error=error,
        n_parsed=tally.parsed,
        n_skipped_files=skipped_files,
        n_skipped_entries=tally.skipped_entries,
    )


def _ingest(
    engine: Engine,
    source: Source,
    config: SourceConfig,
    document: Document,
    tally: _Tally,
    *,
    fetched_at: datetime,
) -> None:
    """Parse and store one document; a rejected document stores nothing."""
    try:
        result = parse_bytes(
            document.data, name=document.name, format=config.format, fetched_at=fetched_at
        )
    except ParseError as exc:
        tally.errors.append(str(exc))
        tally.rejected += 1
        if source.skip_known_files:
            # Reported this once; a folder must not fail every fetch for one stray file.
            record_ingested_file(
                engine,
                source=config.name,
                content_hash=document.content_hash,
                path=document.name,
                n_papers=0,
                now=fetched_at,
                rejected=str(exc),
            )
        return
    with engine.begin() as conn:
        stored = upsert_papers(conn, result.papers, source=config.name, now=fetched_at)
        if source.skip_known_files:
            record_ingested_file(
                conn,
                source=config.name,
                content_hash=document.content_hash,
                path=document.name,
                n_papers=len(result.papers),
                now=fetched_at,
            )
    tally.parsed += len(result.papers)
    tally.new += stored.new
    tally.known += stored.known
    tally.skipped_entries += result.skipped

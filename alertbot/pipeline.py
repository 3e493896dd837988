"""Where the stages meet I/O: fetch -> parse -> store (-> match -> render -> deliver).

``fetch_sources`` pulls every configured source into the store. A failing source
never stops the others, and every source fetched leaves a row in the fetch log.

One source's fetch is a chain of small stages, like structlog's processors: each
takes the :class:`Ingest` under way and adds what it found (documents, papers,
errors). :data:`STAGES` runs in order until one raises; :func:`finish` then always
runs, and records, counts and logs the fetch, whatever happened before it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from alertbot import metrics
from alertbot.config import Settings
from alertbot.config_sections import SourceConfig
from alertbot.logs import get_logger
from alertbot.model import FetchStatus
from alertbot.parse import ParseError, parse_bytes
from alertbot.redact import redact_text, redact_url
from alertbot.sources import Source, SourceError, build_source, is_url, make_client
from alertbot.sources.base import Document, Fetched, Validators
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
    """How one source's fetch went (``status``: ok, empty, not_modified or error)."""

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
class Ingest:
    """One source's fetch under way: what each stage found, for the next one."""

    engine: Engine
    settings: Settings
    config: SourceConfig
    started: datetime
    http: httpx.Client | None
    source: Source | None = None
    fetched: Fetched | None = None
    documents: list[Document] = field(default_factory=list)
    skipped_files: int = 0
    parsed: int = 0
    new: int = 0
    known: int = 0
    skipped_entries: int = 0
    rejected: int = 0
    listings: int = 0
    errors: list[str] = field(default_factory=list)
    # Told (documents done, documents to do) as a large folder is read.
    on_document: Callable[[int, int], None] | None = None

    @property
    def status(self) -> FetchStatus:
        if self.errors:
            return FetchStatus.ERROR
        if self.fetched is not None and self.fetched.status == "not_modified":
            return FetchStatus.NOT_MODIFIED
        if self.listings and not self.parsed and not self.skipped_entries:
            return FetchStatus.EMPTY  # a weekend's feed: fetched fine, nothing announced
        return FetchStatus.OK


Stage = Callable[[Ingest], None]


def fetch_sources(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    http: httpx.Client | None = None,
    only: str | None = None,
    progress: Callable[[str], None] | None = None,
    document_progress: Callable[[str, int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> list[FetchOutcome]:
    """Fetch the configured sources (or only the one named ``only``) into the store.

    ``progress`` is called with "NAME: STATUS" after each source, ``document_progress``
    with (NAME, done, total) after each document of a source. Once ``stop`` is set no
    further source is started (the service is shutting down). Raises ``ValueError`` if
    ``only`` names no configured source.
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
            if stop is not None and stop.is_set():
                log.info("fetch stopped before this source", source=config.name)
                break
            ingest = Ingest(engine, settings, config, started=now(), http=client)
            if document_progress is not None:
                ingest.on_document = partial(document_progress, config.name)
            run_stages(ingest)
            outcome = finish(ingest, finished_at=now())
            outcomes.append(outcome)
            if progress is not None:
                progress(f"{config.name}: {outcome.status}")
    finally:
        if client is not None and http is None:
            client.close()
    return outcomes


def run_stages(ingest: Ingest, stages: tuple[Stage, ...] | None = None) -> None:
    """Run ``stages`` (default :data:`STAGES`) in order; a failure ends the chain, recorded."""
    try:
        for stage in stages if stages is not None else STAGES:
            stage(ingest)
    except SourceError as exc:
        ingest.errors.insert(0, str(exc))
    except SQLAlchemyError:
        # The store failing (disk full, locked, gone) is not this source's fault and
        # would fail every other source too: stop here, the caller says what happened.
        raise
    except Exception as exc:  # a failing source must not stop the others
        log.exception("fetch failed", source=ingest.config.name)
        where, what = redact_url(ingest.config.location), redact_text(str(exc))
        ingest.errors.insert(0, f"{where}: {exc.__class__.__name__}: {what}")


def build(ingest: Ingest) -> None:
    """The source the configuration names."""
    ingest.source = build_source(ingest.config, http=ingest.http, settings=ingest.settings.http)


def fetch(ingest: Ingest) -> None:
    """Read the source, conditionally when it understands HTTP validators."""
    assert ingest.source is not None
    validators = None
    if ingest.source.conditional:
        validators = Validators(*http_validators(ingest.engine, ingest.config.location))
    ingest.fetched = ingest.source.fetch(validators)
    ingest.documents = list(ingest.fetched.documents)


def skip_known_files(ingest: Ingest) -> None:
    """Leave out the files a folder source has already read (by content hash)."""
    assert ingest.source is not None
    if not ingest.source.skip_known_files or not ingest.documents:
        return
    hashes = (d.content_hash for d in ingest.documents)
    known = ingested_hashes(ingest.engine, ingest.config.name, hashes)
    ingest.skipped_files = sum(1 for d in ingest.documents if d.content_hash in known)
    ingest.documents = [d for d in ingest.documents if d.content_hash not in known]


def ingest_documents(ingest: Ingest) -> None:
    """Parse and store each document; a rejected document stores nothing."""
    for done, document in enumerate(ingest.documents, 1):
        _ingest_document(ingest, document)
        if ingest.on_document is not None:
            ingest.on_document(done, len(ingest.documents))


def save_validators(ingest: Ingest) -> None:
    """Remember the HTTP validators, only once everything fetched is safely stored.

    Had parsing or storing failed, a 304 next time would hide the content we never
    stored.
    """
    fetched = ingest.fetched
    if ingest.source is None or not ingest.source.conditional or fetched is None:
        return
    if fetched.status != "ok" or ingest.errors:
        return
    save_http_validators(
        ingest.engine,
        ingest.config.location,
        etag=fetched.validators.etag,
        last_modified=fetched.validators.last_modified,
        now=ingest.started,
    )


STAGES: tuple[Stage, ...] = (build, fetch, skip_known_files, ingest_documents, save_validators)


def finish(ingest: Ingest, *, finished_at: datetime) -> FetchOutcome:
    """Record the fetch in the fetch log, count it in the metrics and log it."""
    status = ingest.status
    error = "; ".join(ingest.errors) or None
    name = ingest.config.name
    record_fetch(
        ingest.engine,
        FetchRecord(
            source=name,
            location=ingest.config.location,
            started_at=ingest.started,
            finished_at=finished_at,
            status=status,
            n_parsed=ingest.parsed,
            n_new=ingest.new,
            n_known=ingest.known,
            n_rejected=ingest.rejected,
            error=error,
            n_skipped_files=ingest.skipped_files,
            n_skipped_entries=ingest.skipped_entries,
        ),
    )
    metrics.fetches.labels(name, status).inc()
    metrics.papers_ingested.labels(name).inc(ingest.new)
    if status == FetchStatus.ERROR:
        metrics.fetch_errors.labels(name).inc()
    context = {
        "source": name,
        "status": str(status),
        "new": ingest.new,
        "known": ingest.known,
        "rejected": ingest.rejected,
        "skipped_files": ingest.skipped_files,
        "skipped_entries": ingest.skipped_entries,
        **({"error": error} if error else {}),
    }
    log.info("fetched source", **context)
    return FetchOutcome(
        source=name,
        status=str(status),
        n_new=ingest.new,
        n_known=ingest.known,
        n_rejected=ingest.rejected,
        error=error,
        n_parsed=ingest.parsed,
        n_skipped_files=ingest.skipped_files,
        n_skipped_entries=ingest.skipped_entries,
    )


def _ingest_document(ingest: Ingest, document: Document) -> None:
    assert ingest.source is not None
    config, folder = ingest.config, ingest.source.skip_known_files
    try:
        result = parse_bytes(
            document.data,
            name=document.name,
            format=config.format,
            fetched_at=ingest.started,
            announce_types=config.announce_types,
        )
    except ParseError as exc:
        ingest.errors.append(str(exc))
        ingest.rejected += 1
        if folder:
            # Reported this once; a folder must not fail every fetch for one stray file.
            record_ingested_file(
                ingest.engine,
                source=config.name,
                content_hash=document.content_hash,
                path=document.name,
                n_papers=0,
                now=ingest.started,
                rejected=str(exc),
            )
        return
    with ingest.engine.begin() as conn:
        stored = upsert_papers(conn, result.papers, source=config.name, now=ingest.started)
        if folder:
            record_ingested_file(
                conn,
                source=config.name,
                content_hash=document.content_hash,
                path=document.name,
                n_papers=len(result.papers),
                now=ingest.started,
            )
    ingest.listings += 1
    ingest.parsed += len(result.papers)
    ingest.new += stored.new
    ingest.known += stored.known
    ingest.skipped_entries += result.skipped

"""The bookkeeping of fetches: the fetch log, files a folder source has read, HTTP validators.

Every function takes an ``Engine`` (and runs in a transaction of its own) or a
``Connection`` (the caller's transaction).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from alertbot.model import SUCCESSFUL_FETCH, FetchStatus
from alertbot.redact import redact_text, redact_url
from alertbot.store.db import Db, transaction
from alertbot.store.papers import CHUNK, chunks
from alertbot.store.schema import fetch_log, http_cache, ingested_files


@dataclass(frozen=True)
class FetchRecord:
    """One fetch of one source, as the fetch log keeps it."""

    source: str
    location: str
    started_at: datetime
    finished_at: datetime | None
    status: FetchStatus
    n_parsed: int = 0
    n_new: int = 0
    n_known: int = 0
    n_rejected: int = 0
    error: str | None = None
    n_skipped_files: int = 0
    n_skipped_entries: int = 0  # announcements of a type the source does not keep


_FETCH_FIELDS = tuple(FetchRecord.__dataclass_fields__)


def record_fetch(db: Db, record: FetchRecord) -> None:
    """Append ``record`` to the fetch log, credentials in its location and error masked
    (the log is for display; the configuration keeps the real URL)."""
    values = {k: getattr(record, k) for k in _FETCH_FIELDS}
    values["location"] = redact_url(record.location)
    if record.error is not None:
        values["error"] = redact_text(record.error)
    with transaction(db) as conn:
        conn.execute(insert(fetch_log).values(values))


def latest_fetches(db: Db) -> list[FetchRecord]:
    """The latest fetch of each source, by source name."""
    latest = select(func.max(fetch_log.c.id)).group_by(fetch_log.c.source).scalar_subquery()
    query = select(fetch_log).where(fetch_log.c.id.in_(latest)).order_by(fetch_log.c.source)
    with transaction(db) as conn:
        return [_record(r) for r in conn.execute(query)]


def _record(r: Any) -> FetchRecord:
    values = {k: getattr(r, k) for k in _FETCH_FIELDS}
    return FetchRecord(**{**values, "status": FetchStatus(values["status"])})


def last_successful_fetch(db: Db, source: str | None = None) -> datetime | None:
    """When the last fetch (of ``source``, or of any) that did not fail finished.

    An empty listing is a successful fetch: a weekend without papers is not staleness.
    """
    query = (
        select(fetch_log.c.finished_at)
        .where(
            fetch_log.c.status.in_([str(s) for s in SUCCESSFUL_FETCH]),
            fetch_log.c.finished_at.is_not(None),
        )
        .order_by(fetch_log.c.finished_at.desc())
        .limit(1)
    )
    if source is not None:
        query = query.where(fetch_log.c.source == source)
    with transaction(db) as conn:
        return conn.execute(query).scalar_one_or_none()


def prune_fetch_log(db: Db, *, before: datetime) -> int:
    """Delete fetch log rows started before ``before``; returns how many."""
    with transaction(db) as conn:
        return int(conn.execute(delete(fetch_log).where(fetch_log.c.started_at < before)).rowcount)


def ingested_hashes(db: Db, source: str, hashes: Iterable[str]) -> set[str]:
    """Which of these file content hashes ``source`` has already ingested."""
    wanted = list(dict.fromkeys(hashes))
    found: set[str] = set()
    with transaction(db) as conn:
        for part in chunks(wanted, CHUNK):
            found.update(
                conn.execute(
                    select(ingested_files.c.content_hash).where(
                        ingested_files.c.source == source,
                        ingested_files.c.content_hash.in_(part),
                    )
                ).scalars()
            )
    return found


def record_ingested_file(
    db: Db,
    *,
    source: str,
    content_hash: str,
    path: str,
    n_papers: int,
    now: datetime,
    rejected: str | None = None,
) -> None:
    """Remember that ``source`` read a file with this content (so it is skipped later).

    ``rejected`` is why a file that is not a listing was refused: it is reported once,
    not on every fetch, and read again only when its content changes.
    """
    with transaction(db) as conn:
        conn.execute(
            delete(ingested_files).where(
                ingested_files.c.source == source, ingested_files.c.content_hash == content_hash
            )
        )
        conn.execute(
            insert(ingested_files).values(
                source=source,
                content_hash=content_hash,
                path=path,
                n_papers=n_papers,
                ingested_at=now,
                rejected=rejected,
            )
        )


def http_validators(db: Db, url: str) -> tuple[str | None, str | None]:
    """The (ETag, Last-Modified) last seen for ``url``, for a conditional GET."""
    with transaction(db) as conn:
        row = conn.execute(
            select(http_cache.c.etag, http_cache.c.last_modified).where(http_cache.c.url == url)
        ).first()
    return (row.etag, row.last_modified) if row else (None, None)


def save_http_validators(
    db: Db, url: str, *, etag: str | None, last_modified: str | None, now: datetime
) -> None:
    """Remember ``url``'s validators; called only once its content is safely stored."""
    with transaction(db) as conn:
        conn.execute(delete(http_cache).where(http_cache.c.url == url))
        if etag or last_modified:
            conn.execute(
                insert(http_cache).values(
                    url=url, etag=etag, last_modified=last_modified, updated_at=now
                )
            )

"""Papers and where they were seen (the fetch log is in :mod:`alertbot.store.fetches`).

Every function takes an ``Engine`` (and runs in a transaction of its own) or a
``Connection`` (the caller's transaction). Queries are batched: ingesting 10,000
papers is a handful of statements per 500 papers, not one round trip per paper.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, RowMapping, bindparam, func, insert, or_, select, update

from alertbot.model import Paper, StoredPaper
from alertbot.parse.merge import MERGED_FIELDS, is_title_id, merge_listings, merge_papers
from alertbot.store.db import Db, serialise_writers, transaction
from alertbot.store.locks import Lock
from alertbot.store.schema import paper_sources
from alertbot.store.schema import papers as papers_table

CHUNK = 500  # ids per IN (...) list: far below every backend's parameter limit
T = TypeVar("T")


@dataclass(frozen=True)
class UpsertResult:
    """Stored ids of the papers that were new, and of those already known."""

    new_ids: list[str] = field(default_factory=list)
    known_ids: list[str] = field(default_factory=list)

    @property
    def new(self) -> int:
        return len(self.new_ids)

    @property
    def known(self) -> int:
        return len(self.known_ids)


def upsert_papers(
    engine: Db, papers: Iterable[Paper], *, source: str, now: datetime
) -> UpsertResult:
    """Store papers not seen before; for known ones update ``last_seen``.

    A paper is known when its id, its arXiv id, or (between a title-hash paper and
    an arXiv paper) its normalised title matches a stored row. Ids never change once
    stored, so the first id a paper got stays its id; the stored paper and the
    newcomer are merged by :func:`alertbot.parse.merge.merge_papers` (the same result
    whichever came first). Every source that listed a paper is recorded in
    ``paper_sources``.
    """
    batch = merge_listings(papers)
    result = UpsertResult()
    with transaction(engine) as conn:
        # What is stored decides insert or merge, so two sources listing one paper at
        # once (fetch jobs run side by side) must not both read it as new: the second
        # failed on the primary key and lost its fetch, or, arXiv id against title
        # hash, stored the paper twice.
        serialise_writers(conn, papers_table, Lock.PAPERS)
        for part in chunks(batch, CHUNK):
            new_ids, known_ids = _upsert_chunk(conn, part, now=now)
            _record_sources(conn, [*new_ids, *known_ids], source=source, now=now)
            result.new_ids.extend(new_ids)
            result.known_ids.extend(known_ids)
    return result


def _upsert_chunk(conn: Any, batch: list[Paper], *, now: datetime) -> tuple[list[str], list[str]]:
    stored = _find_stored(conn, batch)
    new_rows: list[dict[str, Any]] = []
    fills: list[dict[str, Any]] = []
    known: list[str] = []
    known_set: set[str] = set()
    new: list[str] = []
    for paper in batch:
        row = stored.get(paper.id)
        if row is None:
            new.append(paper.id)
            new_rows.append(_row(paper, now))
            continue
        if row["id"] in known_set:
            continue  # two listings of one stored paper in the same batch
        known.append(row["id"])
        known_set.add(row["id"])
        held = _paper(row)
        merged = merge_papers(held, paper)
        if merged != held:
            fills.append({**_columns(merged, (*MERGED_FIELDS, "extra")), "_id": row["id"]})
    if new_rows:
        conn.execute(insert(papers_table), new_rows)
    if known:
        conn.execute(update(papers_table).where(papers_table.c.id.in_(known)).values(last_seen=now))
    if fills:
        values: dict[str, Any] = {name: bindparam(name) for name in (*MERGED_FIELDS, "extra")}
        conn.execute(
            update(papers_table).where(papers_table.c.id == bindparam("_id")).values(values), fills
        )
    return new, known


def _find_stored(conn: Any, batch: list[Paper]) -> dict[str, Any]:
    """Stored row of each incoming paper that is already known, by incoming id."""
    ids = [p.id for p in batch]
    arxiv_ids = [p.arxiv_id for p in batch if p.arxiv_id]
    keys = [p.title_key for p in batch]
    rows = conn.execute(
        select(papers_table)
        .where(
            or_(
                papers_table.c.id.in_(ids),
                papers_table.c.arxiv_id.in_(arxiv_ids),
                papers_table.c.title_key.in_(keys),
            )
        )
        .order_by(papers_table.c.first_seen, papers_table.c.id)
    ).all()
    by_id = {r.id: r._asdict() for r in rows}
    by_arxiv = {r.arxiv_id: r._asdict() for r in reversed(rows) if r.arxiv_id}
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_key.setdefault(r.title_key, []).append(r._asdict())
    found: dict[str, dict[str, Any]] = {}
    claimed: set[str] = set()
    for paper in batch:
        row = by_id.get(paper.id) or (by_arxiv.get(paper.arxiv_id) if paper.arxiv_id else None)
        if row is None:
            row = _same_title(paper, by_key.get(paper.title_key, []), claimed)
        if row is not None:
            found[paper.id] = row
            if not is_title_id(paper.id):
                claimed.add(row["id"])
    return found


def _same_title(
    paper: Paper, candidates: list[dict[str, Any]], claimed: set[str]
) -> dict[str, Any] | None:
    """The stored paper with the same title that ``paper`` is, if any.

    A title-hash paper is whichever stored paper has its title (the oldest). An
    arXiv paper is a stored title-hash paper with its title that no other arXiv id
    has claimed: two arXiv ids are two papers even when their titles agree.
    """
    for row in candidates:
        if is_title_id(paper.id):
            return row
        if is_title_id(row["id"]) and row["arxiv_id"] is None and row["id"] not in claimed:
            return row
    return None


def _record_sources(conn: Any, ids: list[str], *, source: str, now: datetime) -> None:
    if not ids:
        return
    seen = set(
        conn.execute(
            select(paper_sources.c.paper_id).where(
                paper_sources.c.source == source, paper_sources.c.paper_id.in_(ids)
            )
        ).scalars()
    )
    fresh = [i for i in dict.fromkeys(ids) if i not in seen]
    if fresh:
        conn.execute(
            insert(paper_sources),
            [{"paper_id": i, "source": source, "first_seen": now, "last_seen": now} for i in fresh],
        )
    if seen:
        conn.execute(
            update(paper_sources)
            .where(paper_sources.c.source == source, paper_sources.c.paper_id.in_(seen))
            .values(last_seen=now)
        )


def _row(paper: Paper, now: datetime) -> dict[str, Any]:
    return {
        "id": paper.id,
        "title": paper.title,
        "title_key": paper.title_key,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "n_authors": paper.n_authors,
        "published": paper.published,
        "url": paper.url,
        "arxiv_id": paper.arxiv_id,
        "categories": list(paper.categories),
        "doi": paper.doi,
        "announce_type": paper.announce_type,
        "source_format": paper.source_format,
        "extra": dict(paper.extra),
        "first_seen": now,
        "last_seen": now,
        **_columns(paper, _ADDED),
    }


# Columns added with migration 002, beside the 0.1 ones _row spells out.
_ADDED = (
    "affiliations",
    "primary_category",
    "journal_ref",
    "github_repo",
    "project_page",
    "upvotes",
    "hf_url",
)


def _columns(paper: Paper, names: Iterable[str]) -> dict[str, Any]:
    """Column values for these fields of ``paper`` (tuples stored as JSON lists)."""
    values: dict[str, Any] = {}
    for name in names:
        value = getattr(paper, name)
        values[name] = list(value) if isinstance(value, tuple) else value
        if name == "extra":
            values[name] = dict(value)
    return values


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


# -- reading ---------------------------------------------------------------------------


def get_papers(db: Db, ids: Iterable[str]) -> dict[str, StoredPaper]:
    """The stored papers with these ids (missing ids are simply absent)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, StoredPaper] = {}
    with transaction(db) as conn:
        for part in chunks(wanted, CHUNK):
            rows = conn.execute(select(papers_table).where(papers_table.c.id.in_(part))).all()
            found.update((sp.paper.id, sp) for sp in _stored(conn, rows))
    return found


def papers_first_seen_between(
    db: Db, start: datetime | None, end: datetime | None
) -> list[StoredPaper]:
    """Papers first stored in ``[start, end)`` (open ends allowed), by first_seen, id."""
    query = select(papers_table).order_by(papers_table.c.first_seen, papers_table.c.id)
    if start is not None:
        query = query.where(papers_table.c.first_seen >= start)
    if end is not None:
        query = query.where(papers_table.c.first_seen < end)
    with transaction(db) as conn:
        return _stored(conn, conn.execute(query).all())


def count_papers(db: Db) -> int:
    """How many papers are stored."""
    with transaction(db) as conn:
        return int(conn.execute(select(func.count()).select_from(papers_table)).scalar_one())


def papers_version(db: Db) -> tuple[int, str]:
    """Changes whenever a paper is stored or updated: (count, latest ``last_seen``)."""
    with transaction(db) as conn:
        count, latest = conn.execute(
            select(func.count(), func.max(papers_table.c.last_seen)).select_from(papers_table)
        ).one()
    return int(count), str(latest)


def _stored(conn: Any, rows: Sequence[Row[Any]]) -> list[StoredPaper]:
    sources: dict[str, list[str]] = {}
    for part in chunks([r.id for r in rows], CHUNK):
        for paper_id, source in conn.execute(
            select(paper_sources.c.paper_id, paper_sources.c.source)
            .where(paper_sources.c.paper_id.in_(part))
            .order_by(paper_sources.c.first_seen, paper_sources.c.source)
        ):
            sources.setdefault(paper_id, []).append(source)
    return [
        StoredPaper(
            paper=_paper(r._mapping), first_seen=r.first_seen, sources=tuple(sources.get(r.id, ()))
        )
        for r in rows
    ]


def _paper(r: Mapping[str, Any] | RowMapping) -> Paper:
    return Paper(
        id=r["id"],
        title=r["title"],
        abstract=r["abstract"],
        source_format=r["source_format"],
        authors=tuple(r["authors"] or ()),
        n_authors=r["n_authors"],
        published=r["published"],
        url=r["url"],
        arxiv_id=r["arxiv_id"],
        categories=tuple(r["categories"] or ()),
        doi=r["doi"],
        announce_type=r["announce_type"],
        extra=dict(r["extra"] or {}),
        affiliations=tuple(r["affiliations"] or ()),
        primary_category=r["primary_category"],
        journal_ref=r["journal_ref"],
        github_repo=r["github_repo"],
        project_page=r["project_page"],
        upvotes=r["upvotes"],
        hf_url=r["hf_url"],
    )

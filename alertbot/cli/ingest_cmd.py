"""Ingestion commands: ``parse``, ``fetch``, ``papers`` and ``bench parse``."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from alertbot.bench.synthetic import GENERATORS
from alertbot.cli.common import (
    ConfigOption,
    config_note,
    err,
    fail,
    open_store,
    out,
    progress,
    settings,
)
from alertbot.model import Paper
from alertbot.parse import ANNOUNCE_TYPES, DEFAULT_ANNOUNCE_TYPES, FORMATS, ParseError, parse_bytes
from alertbot.pipeline import fetch_sources
from alertbot.samples import sample_dump_paths
from alertbot.schedule.clock import utcnow
from alertbot.sources import SourceError, load_listing
from alertbot.store import connect, migrate
from alertbot.store.papers import papers_first_seen_between, upsert_papers

FormatOption = Annotated[
    str,
    typer.Option("--format", "-f", help=f"Input format: {', '.join(FORMATS)}."),
]
LinesOption = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]


def paper_json(paper: Paper, **more: Any) -> str:
    """One JSON line describing ``paper``."""
    record: dict[str, Any] = {
        "id": paper.id,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "n_authors": paper.n_authors,
        "published": paper.published.isoformat() if paper.published else None,
        "url": paper.url,
        "source_format": paper.source_format,
        "arxiv_id": paper.arxiv_id,
        "categories": list(paper.categories),
        "doi": paper.doi,
        "announce_type": paper.announce_type,
        "affiliations": list(paper.affiliations),
        "primary_category": paper.primary_category,
        "journal_ref": paper.journal_ref,
        "github_repo": paper.github_repo,
        "project_page": paper.project_page,
        "upvotes": paper.upvotes,
        "hf_url": paper.hf_url,
        "extra": dict(paper.extra),
        **more,
    }
    return json.dumps(record, ensure_ascii=False, default=str)


def parse(
    location: Annotated[str, typer.Argument(help="A dump file, a folder or an http(s) URL.")],
    format: FormatOption = "auto",
    as_json: LinesOption = False,
    announce_types: Annotated[
        str,
        typer.Option(help="arXiv announcements to keep, comma-separated."),
    ] = ",".join(DEFAULT_ANNOUNCE_TYPES),
    config: ConfigOption = None,
) -> None:
    """Parse a listing and print its papers (nothing is stored).

    arXiv announcements other than new and cross-lists are skipped and counted (all
    four types with --announce-types new,cross,replace,replace-cross). A listing
    without entries (a weekend's feed) prints 0 papers and succeeds.
    """
    cfg = settings(config)
    if format not in FORMATS:
        fail(f"unknown format {format!r} (choose from {', '.join(FORMATS)})", 2)
    types = [t.strip() for t in announce_types.split(",") if t.strip()]
    unknown = [t for t in types if t not in ANNOUNCE_TYPES]
    if unknown or not types:
        fail(f"--announce-types: choose from {', '.join(ANNOUNCE_TYPES)}", 2)
    try:
        listing = load_listing(
            location, format=format, now=utcnow(), settings=cfg.http, announce_types=types
        )
    except (ParseError, SourceError) as exc:
        fail(str(exc))
    papers = listing.papers
    for paper in papers:
        if as_json:
            typer.echo(paper_json(paper))
        else:
            when = paper.published.isoformat() if paper.published else "-" * 10
            typer.echo(f"{paper.id:<18} {when}  {paper.title}")
    if not as_json:
        skipped = f" ({listing.skipped} announcements skipped)" if listing.skipped else ""
        err.print(f"{len(papers)} papers{skipped}", highlight=False)


def fetch(
    source: Annotated[
        str | None, typer.Option("--source", "-s", help="Fetch only this source.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Pull the configured sources into the store and summarise what came in.

    Exits 1 if any source failed (the others are still stored).
    """
    cfg = settings(config)
    if not cfg.sources:
        fail(
            f"no sources configured ({config_note(cfg)}): add [[sources]] tables (name, "
            "location) to your alertbot.toml; `alertbot config example` shows every setting",
            2,
        )
    names = [s.name for s in cfg.sources]
    if source is not None and source not in names:
        fail(f"no source named {source!r} (configured: {', '.join(names)})", 2)
    engine = open_store(cfg, create=True)
    total = 1 if source else len(names)
    with progress("fetching", total) as advance:
        outcomes = fetch_sources(
            engine,
            cfg,
            now=utcnow,
            only=source,
            progress=lambda message: advance(description=message),
            document_progress=lambda name, done, total: advance(
                0, description=f"{name}: file {done} of {total}"
            ),
        )
    table = Table("source", "status", "new", "known", "skipped", "rejected", title="fetch")
    for o in outcomes:
        style = "red" if o.status == "error" else None
        counts = (o.n_new, o.n_known, o.n_skipped_entries, o.n_rejected)
        table.add_row(o.source, o.status, *map(str, counts), style=style)
    out.print(table)
    failed = [o for o in outcomes if o.status == "error"]
    for o in failed:
        err.print(Text.assemble((f"{o.source}: ", "bold red"), o.error or "failed"), soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since {text!r}: expected a date (2025-10-13) or an ISO time", 2)
    if len(text) <= 10:  # a date: from its start, UTC
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def papers(
    since: Annotated[
        str | None, typer.Option("--since", help="Only papers first stored since DATE (UTC).")
    ] = None,
    as_json: LinesOption = False,
    config: ConfigOption = None,
) -> None:
    """List the stored papers, oldest first."""
    start = _since(since)
    cfg = settings(config)
    stored = papers_first_seen_between(open_store(cfg), start, None)
    for sp in stored:
        if as_json:
            typer.echo(
                paper_json(sp.paper, first_seen=sp.first_seen.isoformat(), sources=list(sp.sources))
            )
        else:
            typer.echo(f"{sp.first_seen:%Y-%m-%d %H:%M}  {sp.paper.id:<18} {sp.paper.title}")
    if not as_json:
        err.print(f"{len(stored)} papers", highlight=False)


def _split_lines(data: bytes) -> list[str]:
    return data.decode("utf-8").splitlines()


def _best(fn: Callable[[], object], repeat: int, budget: float = 3.0) -> float:
    """Best time of ``repeat`` runs, stopping early once ``budget`` seconds are spent."""
    best = spent = 0.0
    for run in range(repeat):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best = elapsed if run == 0 else min(best, elapsed)
        spent += elapsed
        if spent > budget:
            break
    return best


BENCH_FETCHED_AT = datetime(2025, 11, 1, tzinfo=UTC)


def bench_parse(
    n_papers: Annotated[int, typer.Option("--papers", min=1, help="Papers per dump.")] = 10_000,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Best of N runs.")] = 3,
) -> None:
    """Parse a generated N-paper dump in every format; report papers/s and ratios.

    The baseline, measured in the same run on the same bytes, is decoding them and
    splitting them into lines: the least any text parser must do. The ratio says how
    many times slower than that the real parser is. The store line times storing the
    blocks dump's papers in a fresh SQLite file, new then again known.
    """
    seeds: list[tuple[str, str]] = []
    for path in sample_dump_paths():
        result = parse_bytes(path.read_bytes(), name=path.name, fetched_at=BENCH_FETCHED_AT)
        seeds += [(p.title, p.abstract) for p in result.papers]
    table = Table("format", "papers", "MB", "parse s", "papers/s", "baseline papers/s", "ratio")
    blocks: list[Paper] = []
    with progress("benchmark", len(GENERATORS) + 1) as advance:
        for fmt, generate in GENERATORS.items():
            advance(0, description=f"parsing {n_papers:,} papers as {fmt}")
            papers = _bench_format(table, fmt, generate, seeds, n_papers, repeat)
            blocks = papers if fmt == "blocks" else blocks
            advance()
        advance(0, description="storing the blocks dump's papers")
        _bench_store(table, blocks)
    out.print(table)


def _bench_format(
    table: Table,
    fmt: str,
    generate: Callable[[list[tuple[str, str]], int], bytes],
    seeds: list[tuple[str, str]],
    n_papers: int,
    repeat: int,
) -> list[Paper]:
    """Time parsing one format against the baseline; returns the papers parsed."""
    data = generate(seeds, n_papers)
    parsed = parse_bytes(data, name=f"bench.{fmt}", fetched_at=BENCH_FETCHED_AT)
    if parsed.format != fmt or len({p.id for p in parsed.papers}) != n_papers:
        fail(f"bench {fmt}: parsed {len(parsed.papers)} papers as {parsed.format}")
    seconds = _best(partial(parse_bytes, data, name="bench", fetched_at=BENCH_FETCHED_AT), repeat)
    baseline = _best(partial(_split_lines, data), repeat)
    table.add_row(
        fmt,
        str(n_papers),
        f"{len(data) / 1e6:.1f}",
        f"{seconds:.3f}",
        f"{n_papers / seconds:,.0f}",
        f"{n_papers / baseline:,.0f}",
        f"{seconds / baseline:.0f}x",
    )
    return parsed.papers


def _bench_store(table: Table, papers: list[Paper]) -> None:
    """Time storing ``papers`` in a fresh SQLite file, new and then known."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = connect(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        migrate(engine)
        for label in ("store new", "store known"):
            start = time.perf_counter()
            upsert_papers(engine, papers, source="bench", now=BENCH_FETCHED_AT)
            seconds = time.perf_counter() - start
            table.add_row(
                label, str(len(papers)), "", f"{seconds:.3f}", f"{len(papers) / seconds:,.0f}"
            )
        engine.dispose()


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's commands to ``app`` and its benchmarks to ``bench``."""
    app.command("parse")(parse)
    app.command("fetch")(fetch)
    app.command("papers")(papers)
    bench.command("parse")(bench_parse)

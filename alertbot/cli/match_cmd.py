"""``alertbot match`` (try a profile on a dump) and ``alertbot bench match``."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from alertbot.bench.match import (
    ENGINES,
    NAIVE_MOST,
    BenchResult,
    generate_papers,
    generate_profiles,
    run_bench,
    run_ticks,
)
from alertbot.bench.progress import StepLog
from alertbot.bench.workload import real_papers, realistic_profiles
from alertbot.cli.common import ConfigOption, err, fail, out, settings
from alertbot.config_sections import HttpSettings, MatchSettings
from alertbot.match import CorpusStats, ProfileIndex, QueryError, match_profile, validate_profile
from alertbot.match.like import is_like
from alertbot.model import Hit, Match, Paper, Profile
from alertbot.parse import ParseError
from alertbot.readers import corpus_vocabulary, like_matches_of, targets_among, with_likes
from alertbot.samples import sample_dump_paths
from alertbot.schedule.clock import utcnow
from alertbot.sources import SourceError, load_papers
from alertbot.tex import display, display_authors

SNIPPET = 240  # characters of abstract shown around the first highlighted term


def _load(location: str, fmt: str, http: HttpSettings | None = None) -> list[Paper]:
    try:
        return load_papers(location, format=fmt, now=utcnow(), settings=http)
    except (SourceError, ParseError) as exc:
        fail(str(exc))


def read_profiles(path: Path, limits: MatchSettings | None = None) -> dict[str, Profile]:
    """Read a profiles file: one JSON object per line (see ``alertbot match --help``)."""
    limits = limits or MatchSettings()
    profiles: dict[str, Profile] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", code=2)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise TypeError("expected a JSON object")
            key = str(row["id"])
            profile = Profile(
                interests=tuple(str(q) for q in row["interests"]),
                exclusions=tuple(str(q) for q in row.get("exclusions", ())),
                min_score=float(row.get("min_score", 0.0)),
            )
            validate_profile(
                profile, max_length=limits.max_query_length, max_clauses=limits.max_clauses
            )
        except QueryError as exc:
            fail(f"{where}: {exc}", code=2)
        except (ValueError, TypeError, KeyError) as exc:
            detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            fail(f"{where}: {detail}", code=2)
        if key in profiles:
            fail(f"{where}: duplicate profile id {key!r}", code=2)
        profiles[key] = profile
    return profiles


def match_json(paper: Paper, match: Match) -> dict[str, Any]:
    """The ``--json`` object for one matched paper."""
    return {
        "paper_id": paper.id,
        "title": display(paper.title),  # the text the spans index
        "score": round(match.score, 4),
        "matches": [
            {"interest": h.interest, "field": h.field, "term": h.term, "spans": h.spans}
            for h in match.hits
        ],
    }


def _highlight(text: str, hits: Sequence[Hit], field: str) -> Text:
    rich = Text(text)
    for hit in hits:
        if hit.field == field:
            for start, end in hit.spans:
                rich.stylize("bold yellow", start, end)
    return rich


def _snippet(paper: Paper, hits: Sequence[Hit]) -> Text:
    abstract = display(paper.abstract)
    spans = sorted(s for h in hits if h.field == "abstract" for s in h.spans)
    first = spans[0][0] if spans else 0
    start = max(0, first - SNIPPET // 3)
    end = min(len(abstract), start + SNIPPET)
    body = _highlight(abstract, hits, "abstract")[start:end]
    return Text("…" if start else "") + body + Text("…" if end < len(abstract) else "")


def _print_match(rank: int, paper: Paper, match: Match) -> None:
    head = Text(f"{rank:>3}. [{match.score:6.2f}] ", style="bold")
    out.print(head + _highlight(display(paper.title), match.hits, "title"))
    categories = f"  [{', '.join(paper.categories)}]" if paper.categories else ""
    out.print(Text(f"     {paper.url or paper.id}{categories}", style="dim"))
    for interest in match.interests:
        terms = [f"{h.term} ({h.field})" for h in match.hits if h.interest == interest]
        # A cat: term filters without a highlight: say what let the paper in.
        said = ", ".join(terms) or "its categories"
        out.print(Text(f"     matched {interest!r}: ", style="dim") + Text(said))
    if any(h.field == "abstract" for h in match.hits):
        out.print(Text("     ") + _snippet(paper, match.hits))
    authors = [h for h in match.hits if h.field == "authors"]
    if authors:
        out.print(Text("     ") + _highlight(display_authors(paper.authors), authors, "authors"))


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's commands to ``app`` and its benchmarks to ``bench``."""

    @app.command("match")
    def match_command(
        location: Annotated[str, typer.Argument(help="A listing dump file, folder or URL.")],
        query: Annotated[
            list[str] | None, typer.Option("--query", "-q", help="An interest (repeatable).")
        ] = None,
        exclude: Annotated[
            list[str] | None, typer.Option("--exclude", "-x", help="An exclusion (repeatable).")
        ] = None,
        min_score: Annotated[float, typer.Option(help="Drop papers scoring below this.")] = 0.0,
        profiles: Annotated[
            Path | None, typer.Option("--profiles", help="Batch mode: a profiles .jsonl file.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
        limit: Annotated[int, typer.Option(min=0, help="Show at most this many (0: all).")] = 0,
        fmt: Annotated[str, typer.Option("--format", help="Dump format.")] = "auto",
        config: ConfigOption = None,
    ) -> None:
        """Try keyword interests on a listing dump: ranked papers, scores and why they matched.

        Query language (one --query is one interest):
          graph transformer     both words, in title or abstract
          "state space model"   a phrase
          a OR b, a AND b, a NOT b, a -b, (groups)
          ti: abs: au: (also title: abstract: author:) on a word, phrase or group
          cat:cs.LG  cat:cs.*   an arXiv category (whole, any case) or category prefix
          quantiz*              prefix wildcard
          retrieval^2           weight
          like:2405.12345       papers like that one of the dump (tf-idf similarity,
          like:"a title"        \\[learn] like_threshold), explained by the shared terms
        Example: --query '"neural machine translation" OR NMT' --exclude survey

        Batch mode, --profiles FILE: one JSON object per line, for example
          {"id": "ann", "interests": ["graph*"], "exclusions": ["survey"], "min_score": 0}
        ("id" and "interests" are required). With --json it prints one line per match:
          {"profile_id": ..., "paper_id": ..., "score": ..., "terms": [...]}

        Word rarity (the idf in the score) comes from the papers in the dump itself.
        Query limits (\\[match]) and URL fetching (\\[http]) follow the settings.
        """
        if profiles is not None and (query or exclude):
            fail("use either --profiles or --query/--exclude, not both", code=2)
        if profiles is None and not query:
            fail("give at least one --query (or --profiles FILE)", code=2)
        cfg = settings(config)
        batch = read_profiles(profiles, cfg.match) if profiles is not None else None
        papers = _load(location, fmt, cfg.http)
        stats = CorpusStats.from_papers(papers)
        if batch is not None:
            _run_batch(batch, papers, stats, as_json=as_json, limit=limit)
            return
        profile = Profile(tuple(query or ()), tuple(exclude or ()), min_score=min_score)
        try:
            validate_profile(
                profile,
                max_length=cfg.match.max_query_length,
                max_clauses=cfg.match.max_clauses,
            )
            found = match_profile(profile, papers, stats)
        except QueryError as exc:
            fail(str(exc), code=2)
        by_id = {p.id: p for p in papers}
        if any(is_like(q) for q in profile.interests):
            # like: interests name a paper of the dump; its words' rarity is the dump's too.
            vocabulary, vectors = corpus_vocabulary(papers)
            targets = targets_among(profile.interests, papers)
            for q in profile.interests:
                if is_like(q) and q not in targets:
                    err.print(Text(f"{q}: no such paper in {location}; it matches nothing"))
            liked = like_matches_of(
                {0: profile}, targets, by_id, vocabulary, vectors, cfg.learn.like_threshold
            )
            found = with_likes(found, liked.get(0, {}), by_id)
        shown = found[:limit] if limit else found
        for rank, match in enumerate(shown, 1):
            paper = by_id[match.paper_id]
            if as_json:
                typer.echo(json.dumps(match_json(paper, match), ensure_ascii=False))
            else:
                _print_match(rank, paper, match)
        err.print(f"{len(found)} of {len(papers)} papers matched", style="dim")

    @bench.command("match")
    def bench_match(
        n_profiles: Annotated[
            int, typer.Option("--profiles", min=1, help="Generated profiles to index.")
        ] = 100_000,
        n_papers: Annotated[
            int, typer.Option("--papers", min=1, help="Generated papers to match against them.")
        ] = 1_000,
        workload: Annotated[
            str, typer.Option(help="realistic, easy, or both (comma-separated).")
        ] = "realistic,easy",
        against: Annotated[
            str, typer.Option(help="Engines to run beside: tantivy, fts5 (comma-separated).")
        ] = "",
        naive_sample: Annotated[
            int | None,
            typer.Option(
                min=1,
                help="Profiles the naive reference checks (default 1,000; past 1,000 papers "
                "fewer, about 1,000,000 profile x paper pairs, at least 100).",
                show_default=False,
            ),
        ] = None,
        ticks: Annotated[
            int, typer.Option(min=0, help="Also match this many ticks in a row; report RSS.")
        ] = 0,
    ) -> None:
        """Indexed matcher vs search-engine loops and the naive scan, on generated workloads.

        realistic: real paper text (the bundled samples, then papers recombined from their
        sentences) and calibrated profiles (1-4 interests, phrases, ORs, exclusions, ti:,
        prefixes, ^2; ~2.5% of papers per profile; tens of thousands of distinct queries).
        easy: Markov-walk papers and the older, sparser profiles. --against tantivy,fts5
        runs one query per profile in each engine (tantivy needs the bench extra) and
        compares match sets, explaining each difference by a documented normalisation rule.
        The naive reference runs on a sample of the profiles; its time is extrapolated.
        Progress goes to stderr as each step starts, with the time since the start.
        """
        kinds = [w.strip() for w in workload.split(",") if w.strip()]
        engines = [e.strip() for e in against.split(",") if e.strip()]
        for name in [*kinds, *engines]:
            if name not in ("realistic", "easy", *ENGINES):
                fail(f"unknown workload or engine {name!r}", code=2)
        if "tantivy" in engines and importlib.util.find_spec("tantivy") is None:
            fail("tantivy is not installed: pip install 'alertbot[bench]'", code=2)
        progress = StepLog(lambda line: err.print(Text(line, style="dim")))
        seed = [p for path in sample_dump_paths() for p in _load(str(path), "auto")]
        failed = False
        for kind in kinds:
            progress(f"{kind}: generating the workload")
            if kind == "realistic":
                papers = real_papers(seed, n_papers)
                profiles = realistic_profiles(papers, n_profiles)
            else:
                texts = [p.abstract for p in seed]
                papers = generate_papers(texts, n_papers)
                profiles = generate_profiles(texts, n_profiles)

            def step(name: str, kind: str = kind) -> None:
                progress(f"{kind}: {name}")

            r = run_bench(
                profiles,
                papers,
                workload=kind,
                naive_sample=naive_sample,
                against=engines,
                progress=step,
            )
            progress(f"{kind}: done")
            _print_bench(r)
            failed |= not r.identical
            if ticks:
                progress(f"{kind}: matching {ticks} ticks")
                rss = run_ticks(profiles, papers, ticks)
                growth = (rss[-1] - rss[0]) / rss[0] * 100
                out.print(
                    f"RSS over {ticks} ticks       {rss[0]:,.0f} MB after the first, "
                    f"{rss[-1]:,.0f} MB after the last ({growth:+.1f}%)"
                )
        if failed:
            raise typer.Exit(1)


def _faster(ratio: float) -> str:
    """An engine's time over alertbot's, said the way round that reads (0.8x faster is
    1.2x slower)."""
    if ratio >= 1 or ratio <= 0:
        return f"{ratio:.1f}x faster"
    return f"{1 / ratio:.1f}x slower"


def _print_bench(r: BenchResult) -> None:
    out.print(
        f"[bold]{r.workload}[/bold]: {r.n_profiles:,} profiles x {r.n_papers:,} papers, "
        f"{r.distinct_queries:,} distinct queries"
    )
    out.print(
        f"corpus statistics      {r.stats_seconds:.2f} s (word rarity; each paper's TeX "
        "shown as Unicode, once)"
    )
    out.print(f"index build            {r.build_seconds:.2f} s (kept across ticks)")
    out.print(
        f"index match            {r.match_seconds:.2f} s ({r.papers_per_second:,.0f} papers/s, "
        f"{r.match_cpu_seconds:.2f} s CPU; ranked columns, papers tokenised inside)"
    )
    out.print(
        f"matches                {r.n_matches:,} = {r.match_share:.2%} of papers per profile "
        f"({r.matching_profiles:,} profiles with any; median {r.median_matches:g})"
    )
    out.print(
        f"digest Matches         {r.shown_seconds_per_profile * 1000:.2f} ms per profile "
        "for its first 20 (hits and spans)"
    )
    for run, agree in zip(r.engines, r.agreements, strict=True):
        ratio = run.seconds / r.match_seconds if r.match_seconds else float("inf")
        cpu_ratio = run.cpu_seconds / r.match_cpu_seconds if r.match_cpu_seconds else 0.0
        skipped = f", {run.skipped:,} profiles it cannot express" if run.skipped else ""
        out.print(
            f"{run.name:<22} {run.seconds:.2f} s (index {run.index_seconds:.2f} s, "
            f"queries {run.search_seconds:.2f} s{skipped}; {run.cpu_seconds:.2f} s CPU) "
            f"-> alertbot {_faster(ratio)} ({_faster(cpu_ratio)} in CPU time)"
        )
        reasons = ", ".join(f"{why} {n:,}" for why, n in sorted(agree.reasons.items()))
        out.print(
            f"  match sets           {agree.profiles:,} profiles without a minimum score: "
            f"{agree.pairs:,} pairs; differ on "
            f"{agree.only_alertbot + agree.only_engine:,} ({agree.only_alertbot:,} alertbot "
            f"only, {agree.only_engine:,} {run.name} only){': ' + reasons if reasons else ''}"
        )
        for example in agree.examples:
            out.print(f"  unexplained: {example}")
    out.print(
        f"naive reference        {r.naive_seconds:.2f} s for {r.naive_profiles:,} profiles "
        f"-> {r.naive_extrapolated:,.0f} s extrapolated ({r.speedup:,.0f}x)"
    )
    if r.naive_auto and r.naive_profiles < min(r.n_profiles, NAIVE_MOST):
        out.print(
            f"  sampled              {r.naive_profiles:,} profiles, not {NAIVE_MOST:,}: "
            f"{r.naive_profiles * r.n_papers:,} profile x paper pairs at {r.n_papers:,} "
            "papers (--naive-sample sets it)"
        )
    if r.peak_reset:
        out.print(
            f"peak memory (max RSS)  {r.peak_rss_mb:,.0f} MB while alertbot matched, from "
            f"{r.rss_before_mb:,.0f} MB resident before (the generated workload; the engines "
            "and the naive run come after)"
        )
    else:
        out.print(
            f"peak memory (max RSS)  {r.peak_rss_mb:,.0f} MB when alertbot has matched "
            "(the process's so far, the generated workload included; the engines and the "
            "naive run come after)"
        )
    same = "yes" if r.identical else "NO"
    out.print(f"identical to naive:    {same} ({r.naive_profiles:,} profiles, Matches compared)")


def _run_batch(
    profiles: dict[str, Profile],
    papers: list[Paper],
    stats: CorpusStats,
    *,
    as_json: bool,
    limit: int,
) -> None:
    found = ProfileIndex.build(profiles).match(papers, stats)
    for key, matches in found.items():
        for match in matches[:limit] if limit else matches:
            terms = sorted({h.term for h in match.hits})
            if as_json:
                row = {
                    "profile_id": key,
                    "paper_id": match.paper_id,
                    "score": round(match.score, 4),
                    "terms": terms,
                }
                typer.echo(json.dumps(row, ensure_ascii=False))
            else:
                typer.echo(f"{key}\t{match.paper_id}\t{match.score:.2f}\t{', '.join(terms)}")
    total = sum(len(m) for m in found.values())
    err.print(f"{total} matches for {len(found)} of {len(profiles)} profiles", style="dim")

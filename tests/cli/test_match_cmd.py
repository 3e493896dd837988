"""`alertbot match` and `alertbot bench match` from the outside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alertbot.cli import app
from alertbot.cli.match_cmd import _faster
from tests.helpers import FIXTURES

DUMP = str(FIXTURES / "hf-papers-lines.trimmed.txt")
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_it_prints_one_json_object_per_match_best_first() -> None:
    """--json prints paper_id, title, score and matches whose spans cover the terms."""
    code, stdout, _ = run("match", DUMP, "--query", "neural network*", "--json")
    assert code == 0
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert rows
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    for row in rows:
        assert set(row) == {"paper_id", "title", "score", "matches"}
        for hit in row["matches"]:
            assert set(hit) == {"interest", "field", "term", "spans"}
            if hit["field"] == "title":
                for start, end in hit["spans"]:
                    assert row["title"][start:end].lower().startswith(hit["term"][:6].lower())


def test_it_prints_a_readable_ranking() -> None:
    """Without --json each paper shows its rank, score, title and what matched."""
    code, stdout, stderr = run("match", DUMP, "-q", "neural", "--limit", "2")
    assert code == 0
    assert "  1. [" in stdout
    assert "matched 'neural'" in stdout
    assert "papers matched" in stderr


def test_it_applies_exclusions_and_min_score() -> None:
    """--exclude vetoes papers and a huge --min-score leaves none."""
    _, base, _ = run("match", DUMP, "-q", "neural", "--json")
    _, excluded, _ = run("match", DUMP, "-q", "neural", "--exclude", "training", "--json")
    _, none, _ = run("match", DUMP, "-q", "neural", "--min-score", "1000", "--json")
    assert 0 < len(excluded.splitlines()) < len(base.splitlines())
    assert none == ""


def test_it_exits_2_with_the_column_on_a_bad_query() -> None:
    """A query error is a usage error that says what and where."""
    code, _, stderr = run("match", DUMP, "--query", 'neural "network')
    assert code == 2
    assert "unclosed quote at column 8" in stderr


def test_it_applies_the_configured_query_limits(tmp_path: Path) -> None:
    """--config's [match] limits hold here as in /subscribe, so a query tried is one that saves."""
    cfg = tmp_path / "alertbot.toml"
    cfg.write_text("[match]\nmax_clauses = 2\n", encoding="utf-8")
    code, _, stderr = run("match", DUMP, "-q", "neural machine translation", "--config", str(cfg))
    assert code == 2
    assert "the limit is 2" in stderr
    code, _, _ = run("match", DUMP, "-q", "neural machine", "--config", str(cfg))
    assert code == 0


def test_it_matches_a_profiles_file(tmp_path: Path) -> None:
    """--profiles prints one JSON line per (profile, paper) with the matched terms."""
    profiles = tmp_path / "profiles.jsonl"
    profiles.write_text(
        '{"id": "ann", "interests": ["neural"], "exclusions": ["training"]}\n\n'
        '{"id": "bob", "interests": ["zzzunknownword"]}\n',
        encoding="utf-8",
    )
    code, stdout, _ = run("match", DUMP, "--profiles", str(profiles), "--json")
    assert code == 0
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert rows
    assert {r["profile_id"] for r in rows} == {"ann"}
    assert all(r["terms"] == ["neural"] for r in rows)
    assert set(rows[0]) == {"profile_id", "paper_id", "score", "terms"}


def test_it_names_the_bad_line_of_a_profiles_file(tmp_path: Path) -> None:
    """A bad profile line is a usage error naming the file line and the problem."""
    profiles = tmp_path / "p.jsonl"
    profiles.write_text('{"id": 1, "interests": ["ok"]}\n{"id": 2, "interests": ["(x"]}\n')
    code, _, stderr = run("match", DUMP, "--profiles", str(profiles))
    assert code == 2
    assert "p.jsonl line 2: interest 1 '(x': unclosed '(' at column 1" in stderr


def test_it_runs_a_small_benchmark_and_confirms_identical_results() -> None:
    """bench match prints its figures for both workloads, and index and naive agree."""
    code, stdout, _ = run("bench", "match", "--profiles", "300", "--papers", "40")
    assert code == 0, stdout
    assert stdout.count("identical to naive:    yes (300 profiles, Matches compared)") == 2
    assert "realistic: 300 profiles x 40 papers" in stdout
    assert "easy: 300 profiles x 40 papers" in stdout
    assert "papers/s" in stdout


def test_it_compares_match_sets_with_fts5_and_explains_the_differences() -> None:
    """--against fts5 runs one MATCH per profile and every difference has a named rule."""
    code, stdout, _ = run(
        "bench", "match", "--profiles", "300", "--papers", "60", "--workload", "realistic",
        "--against", "fts5",
    )  # fmt: skip
    assert code == 0, stdout
    assert "-> alertbot" in stdout
    assert "unexplained" not in stdout


def test_it_prints_each_step_on_stderr_as_it_starts() -> None:
    """A long run is never silent: each step goes to stderr with the time since the start,
    and the figures to stdout."""
    code, stdout, stderr = run(
        "bench", "match", "--profiles", "60", "--papers", "20", "--workload", "easy",
    )  # fmt: skip
    assert code == 0, stdout
    steps = [line.split("] ", 1)[1] for line in stderr.splitlines()]
    assert steps[0] == "easy: generating the workload"
    assert "easy: alertbot: matching" in steps
    assert "easy: naive reference: 60 profiles" in steps
    assert steps[-1] == "easy: done"
    assert all(line.startswith("[") and " s] " in line for line in stderr.splitlines())
    assert "] easy:" not in stdout


def test_it_says_when_the_naive_sample_was_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the naive reference's budget of pairs, the output says how many it checked."""
    monkeypatch.setattr("alertbot.bench.match.NAIVE_PAIRS", 2_000)
    code, stdout, _ = run(
        "bench", "match", "--profiles", "300", "--papers", "20", "--workload", "easy",
    )  # fmt: skip
    assert code == 0, stdout
    assert "naive reference" in stdout
    assert (
        "  sampled              100 profiles, not 1,000: 2,000 profile x paper pairs "
        "at 20 papers (--naive-sample sets it)"
    ) in stdout
    assert "identical to naive:    yes (100 profiles" in stdout


def test_it_refuses_an_unknown_engine() -> None:
    """An engine it does not know is a usage error, before any work."""
    code, _, stderr = run("bench", "match", "--against", "lucene")
    assert code == 2
    assert "unknown workload or engine 'lucene'" in stderr


FEED = str(Path(__file__).parent.parent / "fixtures" / "arxiv-cs.CL.rss.xml")


def test_it_matches_arxiv_categories_in_a_feed() -> None:
    """cat: selects by the feed's categories; a prefix and an exclusion work too."""
    _, cl, _ = run("match", FEED, "-q", "cat:CS.cl", "--json")
    _, cs, _ = run("match", FEED, "-q", "cat:cs.*", "--json")
    _, no_ir, _ = run("match", FEED, "-q", "cat:cs.* -cat:cs.IR", "--json")
    ids = [[json.loads(line)["paper_id"] for line in o.splitlines()] for o in (cl, cs, no_ir)]
    assert ids == [["1903.06902", "2404.03715"], ["1903.06902", "2404.03715"], ["2404.03715"]]


def test_it_says_where_a_category_is_malformed() -> None:
    """A bad cat: term exits 2 with the column."""
    code, _, stderr = run("match", FEED, "-q", "graph cat:cs..LG")
    assert code == 2
    assert "'cs..LG' is not an arXiv category" in stderr
    assert "at column 11" in stderr


TEX_FEED = str(Path(__file__).parent.parent / "fixtures" / "tex" / "schrodinger.rss.xml")


def test_it_finds_tex_spelled_titles_with_and_without_the_accent() -> None:
    """ti:schrödinger and ti:schrodinger both find Schr\\"odinger and Schrodinger titles,
    and the highlight covers the word in the displayed title."""
    for query in ("ti:schrödinger", "ti:schrodinger", "ti:Schrödinger"):
        code, stdout, _ = run("match", TEX_FEED, "-q", query, "--json")
        assert code == 0
        rows = {r["paper_id"]: r for r in map(json.loads, stdout.splitlines())}
        assert set(rows) == {"2607.18184", "2608.06893"}
        tex = rows["2607.18184"]
        assert tex["title"].startswith("anyakrakusuma: A Python Library for Entropic Schrödinger")
        [(start, end)] = tex["matches"][0]["spans"]
        assert tex["title"][start:end] == "Schrödinger"


def test_an_engine_faster_than_alertbot_is_said_so() -> None:
    """A ratio under 1 reads as alertbot being that much slower, not "0.5x faster"."""
    assert (_faster(2.0), _faster(0.5)) == ("2.0x faster", "2.0x slower")

"""The ingestion commands as a user runs them: parse, fetch, papers, bench parse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from alertbot.samples import sample_dump_paths
from alertbot.store import connect
from alertbot.store.papers import count_papers
from tests.helpers import FIXTURES
from tests.helpers.cli import run, write_config
from tests.servers import QuietHandler, http_server

BLOCKS, LINES = sample_dump_paths()
BAD_INPUTS = {
    "binary": ("dump.bin", bytes(range(256)) * 8, "binary"),
    "html": (
        "dump.html",
        b"<!DOCTYPE html>\n<html><body><h1>404</h1></body></html>\n",
        "HTML page",
    ),
    "empty": ("dump.txt", b"", "empty"),
}


def test_it_parses_the_blocks_dump_to_json_lines() -> None:
    """`parse --json` prints the 42 blocks papers, each with n_authors and published."""
    result = run("parse", str(BLOCKS), "--json")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 42
    for record in records:
        assert {"id", "title", "abstract", "authors", "url", "source_format"} <= record.keys()
        assert isinstance(record["n_authors"], int)
        assert len(record["published"]) == 10


def test_it_parses_the_lines_dump_in_a_real_process() -> None:
    """`python -m alertbot parse` on the lines dump prints 279 JSON lines, none "Subscribe..."."""
    done = subprocess.run(
        [sys.executable, "-m", "alertbot", "parse", str(LINES), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    titles = [json.loads(line)["title"] for line in done.stdout.splitlines()]
    assert len(titles) == 279
    assert not any(t.startswith("Subscribe") for t in titles)


def test_it_honours_the_format_option() -> None:
    """--format picks the parser; an unknown one is a usage error (exit 2)."""
    ok = run("parse", str(FIXTURES / "hf-daily-papers.json"), "--format", "hf-json", "--json")
    assert [json.loads(line)["source_format"] for line in ok.stdout.splitlines()] == ["hf-json"] * 2
    assert run("parse", str(BLOCKS), "--format", "csv").exit_code == 2


def test_it_prints_a_readable_list_without_json() -> None:
    """Without --json each paper is one line: id, date, title."""
    result = run("parse", str(FIXTURES / "hf-daily-papers.json"))
    first = result.stdout.splitlines()[0]
    assert first.split()[:2] == ["2602.23229", "2026-02-26"]
    assert first.endswith("Sparse Retrieval Heads in Long-Context Transformers")


@pytest.mark.parametrize(("name", "content", "reason"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_it_rejects_a_non_listing_in_one_line(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    """`parse` on a binary, HTML or empty file exits 1 with one line naming file and reason."""
    path = tmp_path / name
    path.write_bytes(content)
    result = run("parse", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {path}: ")
    assert reason in line


def test_it_fetches_both_dumps_twice_and_stores_the_union_once(db_url: str, tmp_path: Path) -> None:
    """`fetch` twice over both dumps leaves 311 papers, on SQLite and PostgreSQL."""
    config = write_config(
        tmp_path / "alertbot.toml", ("blocks", BLOCKS), ("lines", LINES), database_url=db_url
    )
    first = run("fetch", "--config", str(config))
    second = run("fetch", "-c", str(config))
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "269" in first.stdout  # the lines dump's new papers
    engine = connect(db_url)
    try:
        assert count_papers(engine) == 311
    finally:
        engine.dispose()


@pytest.mark.parametrize(("name", "content", "reason"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_it_fails_a_fetch_of_a_non_listing_and_leaves_the_store_unchanged(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    """A bad source exits 1 with its reason; the store keeps exactly what it had."""
    bad = tmp_path / name
    bad.write_bytes(content)
    good = write_config(tmp_path / "good.toml", ("hf", FIXTURES / "hf-daily-papers.json"))
    assert run("fetch", "-c", str(good)).exit_code == 0
    config = write_config(tmp_path / "bad.toml", ("bad", bad))
    result = run("fetch", "-c", str(config))
    assert result.exit_code == 1
    assert reason in result.stderr
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("bad: ")]
    assert reason in line
    engine = connect(f"sqlite:///{tmp_path / 'data' / 'alertbot.sqlite3'}")
    try:
        assert count_papers(engine) == 2
    finally:
        engine.dispose()


def test_it_still_stores_the_good_sources_when_one_fails(tmp_path: Path) -> None:
    """Exit 1 for the failure, yet the healthy source is fetched and shown as ok."""
    config = write_config(
        tmp_path / "c.toml",
        ("gone", tmp_path / "missing.txt"),
        ("hf", FIXTURES / "hf-daily-papers.json"),
    )
    result = run("fetch", "-c", str(config))
    assert result.exit_code == 1
    assert "missing.txt: no such file" in result.stderr
    listed = run("papers", "-c", str(config), "--json")
    assert len(listed.stdout.splitlines()) == 2


def test_it_explains_that_no_source_is_configured(tmp_path: Path) -> None:
    """With no [[sources]], fetch exits 2 and says what to configure."""
    config = write_config(tmp_path / "empty.toml")
    result = run("fetch", "-c", str(config))
    assert result.exit_code == 2
    assert "no sources configured" in result.stderr


def test_it_refuses_an_unknown_source_name(tmp_path: Path) -> None:
    """--source must name a configured source (exit 2)."""
    config = write_config(tmp_path / "c.toml", ("hf", FIXTURES / "hf-daily-papers.json"))
    result = run("fetch", "-c", str(config), "--source", "nope")
    assert result.exit_code == 2
    assert "no source named 'nope'" in result.stderr


def test_it_lists_stored_papers_since_a_date(tmp_path: Path) -> None:
    """`papers --json` lists what fetch stored with sources; --since filters by first seen."""
    config = write_config(tmp_path / "c.toml", ("hf", FIXTURES / "hf-daily-papers.json"))
    run("fetch", "-c", str(config))
    listed = [
        json.loads(line) for line in run("papers", "-c", str(config), "--json").stdout.splitlines()
    ]
    assert [r["id"] for r in listed] == ["2602.21001", "2602.23229"]  # same first_seen: by id
    assert listed[0]["sources"] == ["hf"]
    future = run("papers", "-c", str(config), "--since", "2999-01-01", "--json")
    assert future.stdout == ""
    assert run("papers", "-c", str(config), "--since", "yesterday").exit_code == 2


def test_it_benchmarks_every_parser() -> None:
    """`bench parse` reports each format's papers/s against the line-splitting baseline."""
    result = run("bench", "parse", "--papers", "300", "--repeat", "1")
    assert result.exit_code == 0, result.output
    for label in ("blocks", "lines", "hf-json", "feed", "store new", "store known"):
        assert label in result.stdout


class FeedHandler(QuietHandler):
    """Serves the arXiv RSS fixture."""

    def do_GET(self) -> None:
        body = (FIXTURES / "arxiv-cs.CL.rss.xml").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_it_parses_a_url() -> None:
    """`parse URL --json` fetches over HTTP and prints the feed's new and cross papers."""
    with http_server(FeedHandler) as url:
        result = run("parse", f"{url}/rss/cs.CL", "--json")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["2404.03715", "1903.06902"]
    assert records[0]["authors"] == ["Alice Smith", "Bob Jones", "Chen Wei"]

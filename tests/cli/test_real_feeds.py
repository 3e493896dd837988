"""The acceptance checks of issue 9, run as a user runs them: parse, fetch, match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alertbot.samples import sample_dump_paths
from alertbot.store import connect
from alertbot.store.papers import count_papers
from tests.helpers import FIXTURES
from tests.helpers.cli import run, write_config

REAL = FIXTURES / "real"
RSS = REAL / "rss-arxiv-cs.LG+cs.AI+cs.CL+stat.ML.rss.xml"
API = REAL / "export-api-cat-cs.CL.atom.xml"
API_ERROR = b"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom"><entry>
<id>https://arxiv.org/api/errors#start_must_be_an_integer</id><title>Error</title>
<summary>start must be an integer</summary><author><name>arXiv api core</name></author>
</entry></feed>
"""
DTD = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa">]><rss><channel/></rss>'


def broken(name: str) -> bytes:
    if name == "truncated":
        return RSS.read_bytes()[:6000]
    return API_ERROR if name == "api-error" else DTD


def empty(name: str) -> bytes:
    if name == "weekend":
        real = RSS.read_bytes()
        return real[: real.index(b"    <item>")] + b"  </channel>\n</rss>\n"
    real = API.read_bytes()
    return real[: real.index(b"  <entry>")].replace(b">119894<", b">0<") + b"</feed>\n"


@pytest.mark.parametrize("name", ["truncated", "api-error", "dtd"])
def test_parse_and_fetch_refuse_a_broken_feed_with_one_line_and_store_nothing(
    tmp_path: Path, name: str
) -> None:
    """Both commands exit 1 with one line naming the file; the store stays empty."""
    feed = tmp_path / f"{name}.xml"
    feed.write_bytes(broken(name))
    parsed = run("parse", str(feed))
    assert parsed.exit_code == 1
    assert parsed.stderr.strip().count("\n") == 0
    assert str(feed) in parsed.stderr
    db = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    config = write_config(tmp_path / "alertbot.toml", ("arxiv", feed), database_url=db)
    fetched = run("fetch", "--config", str(config))
    assert fetched.exit_code == 1
    assert count_papers(connect(db)) == 0


@pytest.mark.parametrize("name", ["weekend", "zero-results"])
def test_parse_and_fetch_accept_an_empty_listing(tmp_path: Path, name: str) -> None:
    """A weekend's RSS and a zero-result API answer: 0 papers, exit 0, fetch status empty."""
    feed = tmp_path / f"{name}.xml"
    feed.write_bytes(empty(name))
    parsed = run("parse", str(feed))
    assert parsed.exit_code == 0, parsed.output
    assert parsed.stderr.strip() == "0 papers"
    db = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    config = write_config(tmp_path / "alertbot.toml", ("arxiv", feed), database_url=db)
    fetched = run("fetch", "--config", str(config))
    assert fetched.exit_code == 0, fetched.output
    assert "empty" in fetched.stdout


def test_parse_prints_how_many_announcements_it_skipped() -> None:
    """The count of skipped replacements is printed beside the papers."""
    result = run("parse", str(RSS))
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "3 papers (1 announcements skipped)"


def test_parse_json_shows_affiliations_and_the_new_fields() -> None:
    """``--json`` carries the primary category, DOI and journal reference of a real entry."""
    result = run("parse", str(API), "--json")
    first = json.loads(result.stdout.splitlines()[0])
    assert first["primary_category"] == "cs.CL"
    assert first["doi"] == "10.1007/978-3-032-39150-6_7"
    assert first["journal_ref"].startswith("Experimental IR Meets Multilinguality")


def test_parse_refuses_a_python_module() -> None:
    """``alertbot parse alertbot/samples/__init__.py`` fails with a one-line reason."""
    result = run("parse", str(sample_dump_paths()[0].parent / "__init__.py"))
    assert result.exit_code == 1
    assert "not a listing" in result.stderr


def test_match_on_a_folder_lists_each_paper_once(tmp_path: Path) -> None:
    """The 10 papers in both sample dumps are listed once, as the store would hold them."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    for dump in sample_dump_paths():
        (folder / dump.name).write_bytes(dump.read_bytes())
    result = run("match", str(folder), "-q", "model", "--json")
    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["paper_id"] for line in result.stdout.splitlines()]
    assert len(ids) == len(set(ids)) > 0
    assert "of 311 papers matched" in result.stderr


def test_au_matches_author_names_never_affiliations(tmp_path: Path) -> None:
    """``au:`` finds an author by name, and no paper by a word of an affiliation."""
    real = RSS.read_bytes()
    feed = tmp_path / "affiliations.xml"
    feed.write_bytes(
        real.replace(
            b"<dc:creator>Fabien Polly</dc:creator>",
            b"<dc:creator>Fabien Polly (Univ Grenoble, Dept Maths)</dc:creator>",
        )
    )
    by_name = run("match", str(feed), "-q", "au:polly", "--json")
    assert [json.loads(line)["paper_id"] for line in by_name.stdout.splitlines()] == ["2609.26811"]
    by_affiliation = run("match", str(feed), "-q", "au:grenoble", "--json")
    assert by_affiliation.exit_code == 0, by_affiliation.output
    assert by_affiliation.stdout.strip() == ""

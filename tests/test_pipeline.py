"""fetch_sources: every source into the store, once, with a fetch log."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.config_sections import HttpSettings, SourceConfig
from alertbot.metrics import REGISTRY
from alertbot.pipeline import fetch_sources
from alertbot.samples import sample_dump_paths
from alertbot.store.fetches import latest_fetches
from alertbot.store.papers import count_papers, get_papers
from tests.helpers import FIXTURES
from tests.helpers.clock import Clock
from tests.servers import QuietHandler, http_server

UNION_OF_SAMPLE_DUMPS = 311  # 42 + 279 papers, 10 of them in both dumps


def make_settings(*sources: tuple[str, str]) -> Settings:
    return Settings(
        sources=[SourceConfig(name=n, location=loc) for n, loc in sources],
        http=HttpSettings(timeout_seconds=2, retries=0, backoff_seconds=0),
    )


def test_it_stores_the_union_of_both_dumps_once_even_fetched_twice(engine: Engine) -> None:
    """Both shared dumps, fetched twice, store each paper once (SQLite and PostgreSQL)."""
    blocks, lines = sample_dump_paths()
    settings = make_settings(("blocks", str(blocks)), ("lines", str(lines)))
    clock = Clock()
    first = fetch_sources(engine, settings, now=clock)
    second = fetch_sources(engine, settings, now=clock)
    assert [(o.status, o.n_new, o.n_known) for o in first] == [("ok", 42, 0), ("ok", 269, 10)]
    assert [(o.status, o.n_new, o.n_known) for o in second] == [("ok", 0, 42), ("ok", 0, 279)]
    assert count_papers(engine) == UNION_OF_SAMPLE_DUMPS


def test_it_logs_every_fetch(sqlite_engine: Engine) -> None:
    """Each source gets a fetch_log row with its counts and times."""
    blocks, _ = sample_dump_paths()
    fetch_sources(sqlite_engine, make_settings(("blocks", str(blocks))), now=Clock())
    (record,) = latest_fetches(sqlite_engine)
    assert (record.source, record.status, record.n_parsed, record.n_new) == ("blocks", "ok", 42, 42)
    assert record.finished_at is not None
    assert record.finished_at > record.started_at


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("binary.bin", bytes(range(256))),
        ("page.html", b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>"),
        ("empty.txt", b""),
    ],
)
def test_it_rejects_a_bad_file_and_stores_nothing_from_it(
    sqlite_engine: Engine, tmp_path: Path, name: str, content: bytes
) -> None:
    """A rejected file fails its source with a one-line reason; the other source is stored."""
    bad = tmp_path / name
    bad.write_bytes(content)
    good = FIXTURES / "hf-daily-papers.json"
    outcomes = fetch_sources(
        sqlite_engine, make_settings(("bad", str(bad)), ("good", str(good))), now=Clock()
    )
    assert [(o.source, o.status, o.n_rejected) for o in outcomes] == [
        ("bad", "error", 1),
        ("good", "ok", 0),
    ]
    assert outcomes[0].error is not None
    assert outcomes[0].error.startswith(f"{bad}: ")
    assert "\n" not in outcomes[0].error
    assert count_papers(sqlite_engine) == 2


def test_it_skips_files_a_folder_source_already_ingested(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """Known files are skipped by content hash; a new file is picked up next fetch."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "hf-papers-blocks.trimmed.txt", inbox / "day1.txt")
    settings = make_settings(("inbox", str(inbox)))
    clock = Clock()
    first = fetch_sources(sqlite_engine, settings, now=clock)[0]
    shutil.copy(FIXTURES / "hf-papers-lines.trimmed.txt", inbox / "day2.txt")
    shutil.copy(FIXTURES / "hf-papers-blocks.trimmed.txt", inbox / "day1-copy.txt")
    second = fetch_sources(sqlite_engine, settings, now=clock)[0]
    third = fetch_sources(sqlite_engine, settings, now=clock)[0]
    assert (first.n_new, first.n_skipped_files) == (5, 0)
    # The lines fixture shares one paper with the blocks fixture.
    assert (second.n_new, second.n_known, second.n_skipped_files) == (6, 1, 2)
    assert (third.status, third.n_new, third.n_known, third.n_skipped_files) == ("ok", 0, 0, 3)


def test_a_stray_file_in_a_folder_is_reported_once_not_on_every_fetch(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """A README beside the dumps fails one fetch (the dumps are stored), then is skipped
    until its content changes."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "hf-papers-blocks.trimmed.txt", inbox / "day1.txt")
    (inbox / "README.html").write_text("<html><body>not a listing</body></html>")
    settings = make_settings(("inbox", str(inbox)))
    clock = Clock()
    first = fetch_sources(sqlite_engine, settings, now=clock)[0]
    second = fetch_sources(sqlite_engine, settings, now=clock)[0]
    (inbox / "README.html").write_text("<html><body>still not a listing</body></html>")
    third = fetch_sources(sqlite_engine, settings, now=clock)[0]
    assert (first.status, first.n_new, first.n_rejected) == ("error", 5, 1)
    assert first.error is not None
    assert "README.html" in first.error
    assert (second.status, second.n_rejected, second.n_skipped_files) == ("ok", 0, 2)
    assert (third.status, third.n_rejected, third.n_skipped_files) == ("error", 1, 1)
    assert count_papers(sqlite_engine) == 5


def test_files_still_being_written_are_left_for_the_next_fetch(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """Hidden and temporary names (.name, *.part, *.tmp) are not read: copy, then rename."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dump = (FIXTURES / "hf-papers-blocks.trimmed.txt").read_bytes()
    for name in (".day1.txt", "day1.txt.part", "day1.txt.tmp", "day1.txt.crdownload"):
        (inbox / name).write_bytes(dump[: len(dump) // 2])
    settings = make_settings(("inbox", str(inbox)))
    first = fetch_sources(sqlite_engine, settings, now=Clock())[0]
    assert (first.status, first.n_parsed, first.n_skipped_files) == ("ok", 0, 0)
    (inbox / "day1.txt.part").write_bytes(dump)
    (inbox / "day1.txt.part").rename(inbox / "day1.txt")
    second = fetch_sources(sqlite_engine, settings, now=Clock())[0]
    assert (second.status, second.n_new) == ("ok", 5)


def test_fetches_are_counted_in_the_metrics(sqlite_engine: Engine, tmp_path: Path) -> None:
    """/metrics counts fetches by outcome, fetch errors and papers stored for the first time."""
    settings = make_settings(
        ("metrics-ok", str(FIXTURES / "hf-papers-blocks.trimmed.txt")),
        ("metrics-bad", str(tmp_path / "gone.txt")),
    )

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = value("alertbot_papers_ingested_total", source="metrics-ok")
    fetch_sources(sqlite_engine, settings, now=Clock())
    fetch_sources(sqlite_engine, settings, now=Clock())
    assert value("alertbot_papers_ingested_total", source="metrics-ok") - before == 5
    assert value("alertbot_fetches_total", source="metrics-ok", status="ok") >= 2
    assert value("alertbot_fetch_errors_total", source="metrics-bad") >= 2
    assert value("alertbot_fetches_total", source="metrics-bad", status="error") >= 2


def test_it_reports_a_missing_source_and_goes_on(sqlite_engine: Engine, tmp_path: Path) -> None:
    """A missing file is an error for its source only."""
    settings = make_settings(
        ("gone", str(tmp_path / "gone.txt")), ("hf", str(FIXTURES / "hf-daily-papers.json"))
    )
    outcomes = fetch_sources(sqlite_engine, settings, now=Clock())
    assert [o.status for o in outcomes] == ["error", "ok"]
    assert outcomes[0].error == f"{tmp_path / 'gone.txt'}: no such file"


def test_it_fetches_only_the_source_asked_for(sqlite_engine: Engine) -> None:
    """``only`` restricts the fetch to one source; an unknown name is a ValueError."""
    settings = make_settings(
        ("hf", str(FIXTURES / "hf-daily-papers.json")),
        ("rss", str(FIXTURES / "arxiv-cs.CL.rss.xml")),
    )
    assert [o.source for o in fetch_sources(sqlite_engine, settings, now=Clock(), only="rss")] == [
        "rss"
    ]
    with pytest.raises(ValueError, match="no source named 'nope'"):
        fetch_sources(sqlite_engine, settings, now=Clock(), only="nope")


def test_it_counts_skipped_replacements(sqlite_engine: Engine) -> None:
    """Replacement announcements are counted, not stored."""
    settings = make_settings(("rss", str(FIXTURES / "arxiv-cs.CL.rss.xml")))
    (outcome,) = fetch_sources(sqlite_engine, settings, now=Clock())
    assert (outcome.n_new, outcome.n_skipped_entries) == (2, 2)


def test_it_reports_progress_per_source(sqlite_engine: Engine) -> None:
    """The progress callback hears "NAME: STATUS" once per source."""
    heard: list[str] = []
    settings = make_settings(("hf", str(FIXTURES / "hf-daily-papers.json")))
    fetch_sources(sqlite_engine, settings, now=Clock(), progress=heard.append)
    assert heard == ["hf: ok"]


class Conditional(QuietHandler):
    """Serves the HF fixture with an ETag, honouring If-None-Match."""

    etag: ClassVar[str] = '"v1"'
    body: ClassVar[bytes] = (FIXTURES / "hf-daily-papers.json").read_bytes()
    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("If-None-Match"))
        if self.headers.get("If-None-Match") == self.etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", self.etag)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture
def conditional_url() -> Iterator[str]:
    Conditional.seen = []
    Conditional.body = (FIXTURES / "hf-daily-papers.json").read_bytes()
    with http_server(Conditional) as url:
        yield url


def test_it_uses_the_http_cache_between_fetches(engine: Engine, conditional_url: str) -> None:
    """The second fetch sends the stored ETag and records not_modified."""
    settings = make_settings(("hf", f"{conditional_url}/api/daily_papers"))
    with httpx.Client() as client:
        first = fetch_sources(engine, settings, now=Clock(), http=client)
        second = fetch_sources(engine, settings, now=Clock(), http=client)
    assert [o.status for o in first + second] == ["ok", "not_modified"]
    assert Conditional.seen == [None, '"v1"']
    assert latest_fetches(engine)[0].status == "not_modified"
    assert "2602.23229" in get_papers(engine, ["2602.23229"])


def test_it_does_not_cache_a_response_it_could_not_store(
    sqlite_engine: Engine, conditional_url: str
) -> None:
    """A rejected body leaves no ETag behind, so the next fetch downloads it again."""
    Conditional.body = b"<html><body>maintenance</body></html>"
    settings = make_settings(("hf", f"{conditional_url}/x"))
    with httpx.Client() as client:
        fetch_sources(sqlite_engine, settings, now=Clock(), http=client)
        fetch_sources(sqlite_engine, settings, now=Clock(), http=client)
    assert Conditional.seen == [None, None]

"""fetch over real feeds: empty days, broken documents, announce types, stray files."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.config_sections import HttpSettings, SourceConfig
from alertbot.pipeline import fetch_sources
from alertbot.samples import sample_dump_paths
from alertbot.store.fetches import last_successful_fetch, latest_fetches
from alertbot.store.papers import count_papers, get_papers
from tests.helpers import FIXTURES
from tests.helpers.clock import Clock

REAL = FIXTURES / "real"
RSS = REAL / "rss-arxiv-cs.LG+cs.AI+cs.CL+stat.ML.rss.xml"


def settings_for(path: Path, **source: object) -> Settings:
    return Settings(
        sources=[SourceConfig(name="arxiv", location=str(path), **source)],
        http=HttpSettings(timeout_seconds=2, retries=0, backoff_seconds=0),
    )


def weekend_rss(tmp_path: Path) -> Path:
    real = RSS.read_bytes()
    path = tmp_path / "saturday.xml"
    path.write_bytes(real[: real.index(b"    <item>")] + b"  </channel>\n</rss>\n")
    return path


def test_it_records_a_weekend_feed_as_an_empty_fetch_not_a_failure(
    engine: Engine, tmp_path: Path
) -> None:
    """A channel without items is fetched fine: status empty, nothing stored, still fresh."""
    (outcome,) = fetch_sources(engine, settings_for(weekend_rss(tmp_path)), now=Clock())
    assert (outcome.status, outcome.n_new, outcome.error) == ("empty", 0, None)
    (record,) = latest_fetches(engine)
    assert record.status == "empty"
    assert last_successful_fetch(engine) == record.finished_at


def test_it_stores_nothing_from_a_truncated_feed_and_everything_once_it_is_whole(
    engine: Engine, tmp_path: Path
) -> None:
    """A cut download fails the fetch with nothing stored; the complete one is stored whole."""
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS.read_bytes()[:5000])
    (cut,) = fetch_sources(engine, settings_for(path), now=Clock())
    assert cut.status == "error"
    assert "not well-formed" in (cut.error or "")
    assert count_papers(engine) == 0
    shutil.copy(RSS, path)
    (whole,) = fetch_sources(engine, settings_for(path), now=Clock())
    assert (whole.status, whole.n_new) == ("ok", 3)
    assert get_papers(engine, ["2609.26820"])["2609.26820"].paper.abstract.endswith(
        "compact, interpretable summaries of local detections."
    )


def test_it_counts_skipped_announcements_in_the_fetch_log(sqlite_engine: Engine) -> None:
    """The replacement a source does not keep is counted in the outcome and the fetch log."""
    (outcome,) = fetch_sources(sqlite_engine, settings_for(RSS), now=Clock())
    assert (outcome.n_new, outcome.n_skipped_entries) == (3, 1)
    (record,) = latest_fetches(sqlite_engine)
    assert record.n_skipped_entries == 1


def test_it_keeps_the_announce_types_a_source_asks_for(sqlite_engine: Engine) -> None:
    """``announce_types`` in a source's config decides what is kept."""
    settings = settings_for(RSS, announce_types=["new"])
    (outcome,) = fetch_sources(sqlite_engine, settings, now=Clock())
    assert (outcome.n_new, outcome.n_skipped_entries) == (2, 2)


def test_it_does_not_store_a_python_module_found_in_a_folder(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """A folder holding ``__init__.py`` beside the dumps stores the dumps, not the module."""
    folder = tmp_path / "samples"
    folder.mkdir()
    for dump in sample_dump_paths():
        shutil.copy(dump, folder)
    shutil.copy(sample_dump_paths()[0].parent / "__init__.py", folder)
    (outcome,) = fetch_sources(sqlite_engine, settings_for(folder), now=Clock())
    assert outcome.status == "error"
    assert outcome.n_rejected == 1
    assert "__init__.py" in (outcome.error or "")
    assert count_papers(sqlite_engine) == 311

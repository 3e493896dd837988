"""File and folder sources, and load_papers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alertbot.config_sections import HttpSettings, SourceConfig
from alertbot.parse import ParseError
from alertbot.sources import FileSource, FolderSource, SourceError, build_source, load_papers
from tests.helpers import FIXTURES

NOW = datetime(2026, 3, 1, tzinfo=UTC)
LIMITS = HttpSettings(max_bytes=1_000_000)


def test_it_reads_one_file(tmp_path: Path) -> None:
    """A file source gives the file as one document with its content hash."""
    path = tmp_path / "dump.txt"
    path.write_bytes(b"hello")
    fetched = FileSource("f", str(path), max_bytes=100).fetch()
    assert fetched.documents[0].data == b"hello"
    assert fetched.documents[0].content_hash == (
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    )


def test_it_names_a_missing_file(tmp_path: Path) -> None:
    """A missing file is a SourceError naming the path."""
    with pytest.raises(SourceError, match=r"gone\.txt: no such file"):
        FileSource("f", str(tmp_path / "gone.txt"), max_bytes=100).fetch()


def test_it_refuses_a_file_over_the_size_limit(tmp_path: Path) -> None:
    """Files larger than max_bytes are not read."""
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 101)
    with pytest.raises(SourceError, match="more than the 100 allowed"):
        FileSource("f", str(path), max_bytes=100).fetch()


def test_it_reads_every_visible_file_of_a_folder_in_name_order(tmp_path: Path) -> None:
    """Hidden files and subfolders are left alone."""
    (tmp_path / "b.txt").write_bytes(b"b")
    (tmp_path / "a.txt").write_bytes(b"a")
    (tmp_path / ".partial").write_bytes(b"p")
    (tmp_path / "sub").mkdir()
    fetched = FolderSource("d", str(tmp_path), max_bytes=100).fetch()
    assert [d.data for d in fetched.documents] == [b"a", b"b"]


def test_it_builds_the_source_a_location_needs(tmp_path: Path) -> None:
    """Folders become folder sources, other paths file sources; odd schemes are refused."""
    folder = build_source(
        SourceConfig(name="a", location=str(tmp_path)), http=None, settings=LIMITS
    )
    file = build_source(SourceConfig(name="b", location="x.txt"), http=None, settings=LIMITS)
    assert isinstance(folder, FolderSource)
    assert isinstance(file, FileSource)
    with pytest.raises(SourceError, match="only http"):
        build_source(SourceConfig(name="c", location="ftp://host/x"), http=None, settings=LIMITS)


def test_it_loads_papers_from_a_file_or_a_folder(tmp_path: Path) -> None:
    """load_papers parses a file, or every file of a folder."""
    for name in ("hf-papers-blocks.trimmed.txt", "hf-daily-papers.json"):
        (tmp_path / name).write_bytes((FIXTURES / name).read_bytes())
    single = load_papers(str(tmp_path / "hf-daily-papers.json"), now=NOW)
    both = load_papers(str(tmp_path), now=NOW)
    assert len(single) == 2
    assert len(both) == 5 + 2


def test_it_raises_the_parse_error_of_a_bad_file(tmp_path: Path) -> None:
    """load_papers lets the one-line ParseError through."""
    path = tmp_path / "page.html"
    path.write_bytes(b"<!doctype html><html><body>nope</body></html>")
    with pytest.raises(ParseError, match=r"page\.html: an HTML page"):
        load_papers(str(path), now=NOW)

"""The secret key: the configured one, else one generated once, kept private, and
agreed on by processes starting together."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertbot.secret_key import load_or_create_secret_key


def test_it_generates_the_secret_key_once_and_keeps_it_private(tmp_path: Path) -> None:
    """Without a configured key, one is generated, stored 0600, and reused."""
    first = load_or_create_secret_key(None, tmp_path / "data")
    assert load_or_create_secret_key(None, tmp_path / "data") == first
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o077 == 0
    assert load_or_create_secret_key("configured-key-123456", tmp_path / "data") == (
        "configured-key-123456"
    )


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    """Eight threads creating the key together all get the same, complete key."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: load_or_create_secret_key(None, tmp_path), range(8)))
    assert len(keys) == 1
    assert len(keys.pop()) >= 32
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_an_empty_key_file_is_a_clear_error(tmp_path: Path) -> None:
    """A damaged key file is reported with what to do, never used as a weak key."""
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(ValueError, match="delete it"):
        load_or_create_secret_key(None, tmp_path)

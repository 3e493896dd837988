"""What alertbot creates on disk is private to its user, whatever the umask (issue 10,
point 13): the store, ``data_dir``, the secret key and the file channel's outbox.

Outside systemd (whose unit sets ``UMask=0077``) the usual umask is 022, under which a
plain ``open()`` makes files 0644 and folders 0755: readable by every local user, and
these hold subscribers' addresses, signed unsubscribe links and the key that signs them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from alertbot.deliver.base import Rendered, nothing_to_record
from alertbot.deliver.file import FileChannel
from alertbot.model import Endpoint, EndpointKind
from alertbot.render import Renderer
from alertbot.secret_key import load_or_create_secret_key
from alertbot.store import connect, migrate
from tests.helpers.builders import digest, item, paper

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=[0o022, 0o002, 0o000], ids=["umask 022", "umask 002", "umask 000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The process umask for the test (a permissive one, as outside systemd)."""
    previous = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_it_creates_the_sqlite_store_and_its_wal_files_private(tmp_path: Path, umask: int) -> None:
    """The SQLite file, its -wal and -shm are 0600; the folder made for them is 0700."""
    data = tmp_path / "data" / "nested"
    db = data / "alertbot.sqlite3"
    engine = connect(f"sqlite:///{db}")
    try:
        migrate(engine)
        with engine.begin() as conn:  # a write, so the WAL and shared-memory files exist
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        wal, shm = db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")
        assert wal.exists()
        assert shm.exists()
        assert [mode(p) for p in (db, wal, shm)] == [0o600] * 3
        assert [mode(p) for p in (data, data.parent)] == [0o700] * 2
    finally:
        engine.dispose()


def test_it_leaves_an_existing_folder_alone(tmp_path: Path, umask: int) -> None:
    """A folder the operator made (shared, on purpose) keeps its mode; the file is private."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o750)
    engine = connect(f"sqlite:///{shared / 'a.sqlite3'}")
    try:
        migrate(engine)
    finally:
        engine.dispose()
    assert mode(shared) == 0o750
    assert mode(shared / "a.sqlite3") == 0o600


def test_it_creates_data_dir_and_the_secret_key_private(tmp_path: Path, umask: int) -> None:
    """The generated signing key is 0600 in a data_dir created 0700."""
    data = tmp_path / "fresh-data"
    key = load_or_create_secret_key(None, data)
    assert len(key) >= 16
    assert mode(data) == 0o700
    assert mode(data / "secret_key") == 0o600


def test_it_writes_the_file_channels_outbox_private(tmp_path: Path, umask: int) -> None:
    """The outbox folders are 0700 and each digest's three files 0600."""
    outbox = tmp_path / "outbox"
    endpoint = Endpoint(id=1, subscriber_id=1, kind=EndpointKind.FILE, address="ada")
    one = replace(digest([item(paper())]), endpoint=endpoint)
    renderer = Renderer(public_url="https://alertbot.example.org")
    rendered = Rendered(
        digest=one,
        unsubscribe_url="https://alertbot.example.org/unsubscribe?token=t",
        sent_at=NOW,
        email=renderer.email(one, unsubscribe_url="https://alertbot.example.org/u"),
        slack=renderer.slack(one),
    )
    channel = FileChannel(outbox, from_address="alertbot <alertbot@example.org>")
    channel.send(one, rendered, outbox_id=7, hand_over=nothing_to_record)
    assert len(channel.written) == 3
    assert {mode(p) for p in channel.written} == {0o600}
    assert [mode(p) for p in (outbox / "ada", outbox)] == [0o700] * 2

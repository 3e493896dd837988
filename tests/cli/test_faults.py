"""Operator faults end in one line saying what and where, with the README's exit code.

Real processes against real faults: a database port where nothing listens, a host
that does not resolve, a database that does not exist on the real PostgreSQL server,
a ``data_dir`` on a read-only mount and on a full one (a private mount namespace,
``unshare``, so no root is needed), and an SQLite store locked by a second process.
Each run is bounded in time; ``-q`` leaves the error as the only line on stderr.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alertbot.cli import faults
from alertbot.model import EndpointKind, Profile
from alertbot.store import connect, migrate
from alertbot.store import endpoints as endpoint_store
from alertbot.store import papers as paper_store
from alertbot.store import subscribers as subscriber_store
from tests.helpers import REPO
from tests.helpers.clock import due_a_minute_ago
from tests.helpers.delivery import make_papers
from tests.servers import free_port

pytestmark = pytest.mark.timeout(60)

ALERTBOT = [sys.executable, "-m", "alertbot"]


def alertbot(
    *args: str, env: dict[str, str] | None = None, prefix: Sequence[str] = (), cwd: Path
) -> subprocess.CompletedProcess[str]:
    """``alertbot -q ARGS`` in a real process (optionally inside ``prefix``, e.g. unshare)."""
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [*prefix, *ALERTBOT, "-q", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=40,
        check=False,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, *says: str) -> str:
    """The process exited ``code`` with exactly one line on stderr, which says ``says``."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for text in says:
        assert text in lines[0], lines[0]
    assert result.returncode == code, (result.returncode, lines[0])
    return lines[0]


def test_a_database_port_where_nothing_listens(tmp_path: Path) -> None:
    """Wrong port: exit 69, naming host and port (and no password)."""
    port = free_port()
    url = f"postgresql://alertbot:s3cret-pw@127.0.0.1:{port}/alertbot"
    result = alertbot("send", env={"ALERTBOT_DATABASE_URL": url}, cwd=tmp_path)
    line = assert_one_line(
        result, faults.DATABASE_UNREACHABLE, f"127.0.0.1:{port}", "Connection refused"
    )
    assert "s3cret-pw" not in line


def test_a_database_host_that_does_not_resolve(tmp_path: Path) -> None:
    """Unreachable host: exit 69, with the resolver's reason."""
    url = "postgresql://alertbot@no-such-host.invalid:5432/alertbot?connect_timeout=5"
    result = alertbot("deliveries", "list", env={"ALERTBOT_DATABASE_URL": url}, cwd=tmp_path)
    assert_one_line(result, faults.DATABASE_UNREACHABLE, "no-such-host.invalid")


def test_a_database_that_does_not_exist(tmp_path: Path, postgres_url: str) -> None:
    """The real server answers, but the database named is not there: exit 69."""
    url = postgres_url.split("?")[0].rsplit("/", 1)[0] + "/alertbot_no_such_database"
    result = alertbot("subscribers", "list", env={"ALERTBOT_DATABASE_URL": url}, cwd=tmp_path)
    assert_one_line(result, faults.DATABASE_UNREACHABLE, "alertbot_no_such_database")


def _mounted(script: str) -> list[str]:
    """A prefix that runs ``script`` (mounts) in private user and mount namespaces, then
    the command: ``unshare -rm sh -c 'SCRIPT && exec "$0" "$@"' CMD...``; skips where
    user namespaces are not allowed."""
    exe = shutil.which("unshare")
    if exe is None:
        pytest.skip("unshare (util-linux) is not installed")
    namespace = [exe, "--map-root-user", "--mount"]
    probe = subprocess.run([*namespace, "true"], capture_output=True, timeout=10, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no user namespaces here: {probe.stderr.decode().strip()}")
    return [*namespace, "sh", "-c", f'{script} && exec "$0" "$@"']


def _stocked_store(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = connect(f"sqlite:///{data_dir / 'alertbot.sqlite3'}")
    migrate(engine)
    now = datetime.now(UTC)
    paper_store.upsert_papers(engine, make_papers(), source="test", now=now - timedelta(hours=1))
    sub = subscriber_store.create_subscriber(
        engine,
        name="Reader",
        now=now - timedelta(days=1),
        profile=Profile(interests=("diffusion",)),
        send_time=due_a_minute_ago(now),
    )
    endpoint_store.add_endpoint(engine, sub.id, EndpointKind.FILE, str(data_dir), now=now)
    engine.dispose()


def test_a_read_only_data_dir(tmp_path: Path) -> None:
    """data_dir on a read-only mount: exit 73, saying so and naming the folder."""
    data = tmp_path / "ro" / "data"
    _stocked_store(data)
    ro = tmp_path / "ro"
    prefix = _mounted(f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro}")
    result = alertbot("send", env={"ALERTBOT_DATA_DIR": str(data)}, prefix=prefix, cwd=tmp_path)
    assert_one_line(result, faults.CANNOT_WRITE, "read-only file system", str(data))


def test_a_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    """A new data_dir under a read-only mount: exit 73, naming the folder."""
    ro = tmp_path / "ro"
    ro.mkdir()
    data = ro / "new-data"
    prefix = _mounted(f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro}")
    result = alertbot(
        "subscribers", "add", "--name", "Ann", env={"ALERTBOT_DATA_DIR": str(data)},
        prefix=prefix, cwd=tmp_path,
    )  # fmt: skip
    assert_one_line(result, faults.CANNOT_WRITE, f"cannot write {data}", "Read-only file system")


def test_a_full_data_dir(tmp_path: Path) -> None:
    """data_dir on a full disk (a 400 KiB tmpfs): the fetch stops at once, exit 73."""
    full = tmp_path / "full"
    full.mkdir()
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    for path in (REPO / "alertbot" / "samples").glob("hf-papers-*.txt"):
        shutil.copy(path, dumps / path.name)
    (tmp_path / "alertbot.toml").write_text(
        f'[[sources]]\nname = "dumps"\nlocation = "{dumps}"\n', encoding="utf-8"
    )
    prefix = _mounted(f"mount -t tmpfs -o size=400k tmpfs {full}")
    result = alertbot("fetch", env={"ALERTBOT_DATA_DIR": str(full)}, prefix=prefix, cwd=tmp_path)
    assert_one_line(result, faults.CANNOT_WRITE, "the disk is full", "full/alertbot.sqlite3")


def test_a_store_locked_by_another_process_during_send(tmp_path: Path) -> None:
    """A second process holds SQLite's write lock: send gives up after the busy timeout
    with exit 75, and sends once the lock is gone."""
    data = tmp_path / "data"
    _stocked_store(data)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(data / 'alertbot.sqlite3')!r}, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        env = {"ALERTBOT_DATA_DIR": str(data), "ALERTBOT_SQLITE_BUSY_TIMEOUT_SECONDS": "0.5"}
        started = time.monotonic()
        locked = alertbot("send", env=env, cwd=tmp_path)
        assert time.monotonic() - started < 30
        assert_one_line(locked, faults.STORE_LOCKED, "is locked by another process", "0.5 s")
    finally:
        holder.communicate("done\n", timeout=10)
    after = alertbot("send", env=env, cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert "1 sent" in after.stdout


def test_the_readme_documents_every_exit_code() -> None:
    """Each code in alertbot/cli/faults.py is a row of the README's exit-code table."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Exit codes", 1)[1].split("\n\n#", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| `(\d+)` \|", table, flags=re.M)}
    codes = {
        value
        for name, value in vars(faults).items()
        if name.isupper() and isinstance(value, int) and not name.startswith("_")
    }
    assert codes == documented

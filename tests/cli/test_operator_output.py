"""What the CLI tells an operator: which config and store, what waits, output for scripts.

Run against a real SQLite file, a real SMTP server on loopback (aiosmtpd) and a port
where nothing listens (a relay that is down).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from alertbot.model import EndpointKind, Profile
from alertbot.store import connect, migrate
from alertbot.store import endpoints as endpoint_store
from alertbot.store import papers as paper_store
from alertbot.store import subscribers as subscriber_store
from alertbot.store.schema import outbox, subscribers
from tests.helpers.cli import run
from tests.helpers.clock import due_a_minute_ago
from tests.helpers.delivery import make_papers
from tests.servers import free_port, smtp_server

LONG_NAME = "Reader with a deliberately long display name that a narrow table would cut"


def stock(tmp_path: Path, *, smtp_port: int, readers: int = 1) -> Path:
    """alertbot.toml in the working folder, and a store with due email readers."""
    # The store in data_dir (ALERTBOT_DATA_DIR, set for every test, wins over the file).
    db = tmp_path / "data" / "alertbot.sqlite3"
    (tmp_path / "alertbot.toml").write_text(
        'secret_key = "operator-output-test-key-0123456789"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
        "timeout_seconds = 5\n"
        "[delivery]\nbackoff_base_seconds = 600\n",
        encoding="utf-8",
    )
    engine = connect(f"sqlite:///{db}")
    migrate(engine)
    now = datetime.now(UTC)
    paper_store.upsert_papers(engine, make_papers(), source="test", now=now - timedelta(hours=1))
    for n in range(readers):
        sub = subscriber_store.create_subscriber(
            engine,
            name=LONG_NAME if n == 0 else f"Reader {n}",
            now=now - timedelta(days=1),
            profile=Profile(interests=("diffusion",)),
            send_time=due_a_minute_ago(now),
        )
        endpoint_store.add_endpoint(
            engine, sub.id, EndpointKind.EMAIL, f"reader{n}@example.org", now=now
        )
    engine.dispose()
    return db


# -- point 4: which config, which store, and no store made by surprise -------------------


@pytest.mark.parametrize(
    "command",
    [
        ["send"],
        ["deliveries", "list"],
        ["subscribers", "list"],
        ["papers"],
        ["digest", "preview", "x"],
    ],
    ids=" ".join,
)
def test_a_command_that_reads_the_store_creates_none_and_says_no_config_was_found(
    tmp_path: Path, command: list[str]
) -> None:
    """From a folder with no alertbot.toml, nothing is created and the reason is said."""
    result = run(*command)
    assert result.exit_code == 2
    assert "no store at " in result.stderr
    assert "no config file found (looked for ./alertbot.toml" in result.stderr
    assert not (tmp_path / "data").exists()


def test_a_command_that_adds_data_creates_the_store_and_says_so(tmp_path: Path) -> None:
    """`subscribers add` makes a new store, naming it and the (absent) config."""
    result = run("subscribers", "add", "--name", "Ann")
    assert result.exit_code == 0, result.output
    assert "no config file found" in result.stderr
    assert "new store " in result.stderr
    assert (tmp_path / "data" / "alertbot.sqlite3").exists()
    again = run("subscribers", "list")
    assert "config" not in again.stdout
    assert re.search(r"no config file found .*; store \S*alertbot\.sqlite3", again.stderr)


def test_it_names_the_config_file_it_used(tmp_path: Path) -> None:
    """With ./alertbot.toml, every store command says so on stderr (stdout stays data)."""
    stock(tmp_path, smtp_port=free_port())
    result = run("subscribers", "list")
    assert result.exit_code == 0
    assert "config alertbot.toml; store " in result.stderr


def test_quiet_drops_the_notes_but_not_the_results(tmp_path: Path) -> None:
    """`alertbot -q` prints the table and no note."""
    stock(tmp_path, smtp_port=free_port())
    result = run("-q", "subscribers", "list")
    assert result.exit_code == 0
    assert "Reader" in result.stdout
    assert result.stderr == ""


def test_verbose_logs_at_debug(tmp_path: Path) -> None:
    """`alertbot -v` turns on DEBUG lines."""
    stock(tmp_path, smtp_port=free_port())
    quiet = run("papers")
    loud = run("-v", "papers")
    assert "DEBUG" not in quiet.stderr
    assert "DEBUG alertbot.cli.common: store open store=data/alertbot.sqlite3" in loud.stderr


# -- point 6: what waits after a failed attempt ------------------------------------------


def test_send_says_what_waits_for_a_retry_and_names_the_relay(tmp_path: Path) -> None:
    """A relay that is down: the digest fails, the next send says when it retries and why."""
    port = free_port()  # nothing listens here
    stock(tmp_path, smtp_port=port)
    first = run("send")
    second = run("send")
    assert first.exit_code == 1
    assert f"127.0.0.1:{port}" in first.stdout
    assert second.exit_code == 0, second.output
    line = next(x for x in second.stdout.splitlines() if "waiting to retry" in x)
    assert re.match(r"1 digest waiting to retry at \d\d:\d\d \(last error: SMTP ", line)
    assert f"127.0.0.1:{port}" in line
    assert "Connection refused" in line


def test_send_json_reports_deliveries_and_what_waits(tmp_path: Path) -> None:
    """`send --json` is one JSON document: counts, each delivery, and the waiting rows."""
    port = free_port()
    stock(tmp_path, smtp_port=port, readers=2)
    data = json.loads(run("-q", "send", "--json").stdout)
    assert data["queued"] == 2
    assert data["counts"] == {"failed": 2}
    assert {d["state"] for d in data["deliveries"]} == {"failed"}
    assert data["waiting"]["retrying"] == 2
    assert f"127.0.0.1:{port}" in data["waiting"]["last_error"]


def test_send_delivers_through_a_live_relay_and_leaves_nothing_waiting(tmp_path: Path) -> None:
    """With the relay up, send --json reports one sent and nothing waiting."""
    with smtp_server() as sink:
        stock(tmp_path, smtp_port=sink.port)
        data = json.loads(run("-q", "send", "--json").stdout)
        assert len(sink.wait_for(1)) == 1
    assert data["counts"] == {"sent": 1}
    assert data["waiting"] == {
        "retrying": 0,
        "next_attempt_at": None,
        "last_error": None,
        "in_flight": 0,
        "unknown": 0,
    }


# -- point 8: output for people and for scripts ------------------------------------------


def test_deliveries_list_shows_names_and_is_not_cut_when_piped(tmp_path: Path) -> None:
    """Piped (not a terminal) at 80 columns: the long name and the whole error are there."""
    stock(tmp_path, smtp_port=free_port())
    run("send")
    result = run("deliveries", "list")
    assert result.exit_code == 0
    assert LONG_NAME in result.stdout
    assert "[Errno 111] Connection refused" in result.stdout
    assert re.search(r"\d{4}-\d\d-\d\d", result.stdout)  # dates whole, not "2026-1…"
    assert "…" not in result.stdout


@pytest.mark.parametrize(
    ("command", "keys"),
    [
        (["deliveries", "list", "--json"], {"id", "subscriber", "state", "last_error"}),
        (["subscribers", "list", "--json"], {"id", "name", "interests", "channels"}),
        (["send", "--dry-run", "--json"], {"subscriber", "digest_date", "papers"}),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_list_commands_print_json_that_parses(
    tmp_path: Path, command: list[str], keys: set[str]
) -> None:
    """Each --json output is one JSON list of objects with the documented keys."""
    stock(tmp_path, smtp_port=free_port())
    if command[0] == "deliveries":
        run("send")
    result = run("-q", *command)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    assert rows
    assert keys <= set(rows[0])


def test_preview_labels_the_next_digest_once_todays_has_gone(tmp_path: Path) -> None:
    """After today's digest is queued, preview shows tomorrow's date, not today's again."""
    with smtp_server() as sink:
        db = stock(tmp_path, smtp_port=sink.port)
        before = run("-q", "digest", "preview", LONG_NAME)
        assert run("-q", "send").exit_code == 0
        after = run("-q", "digest", "preview", LONG_NAME)
    engine = connect(f"sqlite:///{db}")
    with engine.connect() as conn:
        (queued,) = conn.execute(outbox.select()).all()
        (send_time,) = conn.execute(select(subscribers.c.send_time)).one()
    engine.dispose()
    today, tomorrow = queued.digest_date, queued.digest_date + timedelta(days=1)
    due = str(send_time)[:5]  # stored as "HH:MM[:SS]"
    assert f"{today:%a} {today.day} {today:%b} (due now)" in before.stdout
    assert f"{tomorrow:%a} {tomorrow.day} {tomorrow:%b} (due {due} UTC)" in after.stdout

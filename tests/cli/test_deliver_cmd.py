"""`alertbot demo`, `alertbot send` and `alertbot deliveries` from the command line."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from alertbot.cli import app
from alertbot.model import EndpointKind, Profile
from alertbot.store import connect, migrate
from alertbot.store import endpoints as endpoint_store
from alertbot.store import papers as paper_store
from alertbot.store import subscribers as subscriber_store
from tests.helpers.clock import due_a_minute_ago
from tests.helpers.delivery import make_papers
from tests.servers import Reply, SlackStandIn, SmtpSink, slack_api, smtp_server

runner = CliRunner()


def test_it_writes_valid_demo_files_and_starts_afresh_when_run_again(tmp_path: Path) -> None:
    """Each sample reader gets a valid .eml, .html and .slack.json; a rerun replaces them."""
    folder = tmp_path / "demo"
    first = runner.invoke(app, ["demo", "--dir", str(folder)])
    names = sorted(p.name for p in (folder / "outbox").iterdir())
    result = runner.invoke(app, ["demo", "--dir", str(folder)])
    assert (first.exit_code, result.exit_code) == (0, 0), result.output
    assert sorted(p.name for p in (folder / "outbox").iterdir()) == names
    emls = sorted((folder / "outbox").glob("*.eml"))
    assert (len(names), len(emls)) == (9, 3)
    for path in emls:
        raw = path.read_bytes()
        assert b"\r\nList-Unsubscribe: <http://127.0.0.1:8080/unsubscribe?token=" in raw
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        for header in ("Message-ID", "Date", "List-Unsubscribe", "List-Unsubscribe-Post"):
            assert msg[header], f"{path.name} lacks {header}"
        # A made-up address (the demo readers have no email), never the outbox folder.
        assert str(msg["To"]).endswith("@example.invalid>")
        assert str(folder) not in str(msg["To"])
        html = path.with_suffix(".html").read_bytes()
        assert len(html) < 100_000
        slack = json.loads(path.with_name(path.stem + ".slack.json").read_text())
        assert slack["text"].strip()
        assert 0 < len(slack["blocks"]) <= 50
    assert "Ada (language" in result.stdout


def _configure(tmp_path: Path, sink: SmtpSink, slack: SlackStandIn) -> None:
    """alertbot.toml in the working directory, and a stocked store it points at."""
    db = tmp_path / "cli.sqlite3"
    (tmp_path / "alertbot.toml").write_text(
        f'database_url = "sqlite:///{db}"\n'
        'secret_key = "cli-test-secret-key-0123456789"\n'
        f'[smtp]\nhost = "{sink.host}"\nport = {sink.port}\nsecurity = "none"\n'
        f'[slack]\nbot_token = "xoxb-test"\napi_url = "{slack.url}"\n'
        "[delivery]\nbackoff_base_seconds = 0\n"
    )
    engine = connect(f"sqlite:///{db}")
    migrate(engine)
    now = datetime.now(UTC)
    paper_store.upsert_papers(engine, make_papers(), source="test", now=now - timedelta(hours=1))
    for name, kind, address in (
        ("Mail reader", EndpointKind.EMAIL, "reader@example.org"),
        ("Slack reader", EndpointKind.SLACK_USER, "U777"),
    ):
        sub = subscriber_store.create_subscriber(
            engine,
            name=name,
            now=now - timedelta(days=1),
            profile=Profile(interests=("diffusion",)),
            send_time=due_a_minute_ago(now),
        )
        endpoint_store.add_endpoint(engine, sub.id, kind, address, now=now)
    engine.dispose()


def test_it_sends_to_email_and_slack_and_nothing_new_the_second_time(tmp_path: Path) -> None:
    """`alertbot send` delivers to both channels; running it again sends nothing."""
    with smtp_server() as sink, slack_api() as slack:
        _configure(tmp_path, sink, slack)
        first = runner.invoke(app, ["send"])
        second = runner.invoke(app, ["send"])
        assert first.exit_code == 0, first.output
        assert second.exit_code == 0, second.output
        assert len(sink.wait_for(1)) == 1
        assert len(slack.calls_to("chat.postMessage")) == 1
    assert "2 sent" in first.stdout
    assert "nothing to send" in second.stdout


def test_it_exits_1_and_lists_the_dead_digest_when_delivery_fails(tmp_path: Path) -> None:
    """A permanent refusal makes `send` exit 1; `deliveries list --state dead` shows why."""
    with smtp_server() as sink, slack_api() as slack:
        _configure(tmp_path, sink, slack)
        sink.behaviour.data_replies.append("554 5.7.1 rejected as spam")
        slack.script("chat.postMessage", Reply(body={"ok": False, "error": "is_archived"}))
        sent = runner.invoke(app, ["send"])
        listed = runner.invoke(
            app, ["deliveries", "list", "--state", "dead"], env={"COLUMNS": "250"}
        )
        dry = runner.invoke(app, ["send", "--dry-run"])
    assert sent.exit_code == 1
    assert listed.exit_code == 0, listed.output
    assert "554" in listed.stdout
    assert "is_archived" in listed.stdout
    assert "0 digest(s) due" in dry.stdout


def test_it_refuses_an_unknown_state_filter() -> None:
    """`deliveries list --state bogus` is a usage error (exit 2) naming the valid states."""
    result = runner.invoke(app, ["deliveries", "list", "--state", "bogus"])
    assert result.exit_code == 2
    assert "pending" in result.stderr

"""The real `alertbot run` process against loopback servers, from start to SIGTERM.

The service fetches a dump from a loopback HTTP source, delivers the due digest by
email (aiosmtpd) and Slack (the Web API stand-in), answers /healthz and /metrics, and
on SIGTERM finishes what it is sending and exits 0. systemd's notify protocol is
checked on a real datagram socket.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select

import alertbot.samples
from alertbot.config import load_settings
from alertbot.deliver import queue_due
from alertbot.model import EndpointKind, Profile
from alertbot.parse import parse_bytes
from alertbot.schedule.clock import utcnow
from alertbot.store import connect, migrate, schema
from alertbot.store.endpoints import add_endpoint
from alertbot.store.papers import upsert_papers
from alertbot.store.subscribers import create_subscriber
from tests.helpers.clock import due_a_minute_ago
from tests.helpers.slack import command_body, signed_headers
from tests.servers import QuietHandler, SmtpSink, free_port, http_server, slack_api, smtp_server

DUMP = (Path(alertbot.samples.__file__).parent / "hf-papers-blocks.txt").read_bytes()

pytestmark = pytest.mark.timeout(90)


class DumpHandler(QuietHandler):
    """Serves the Hugging Face listing dump at any path."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(DUMP)))
        self.end_headers()
        self.wfile.write(DUMP)


class NotifySocket:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET."""

    def __init__(self) -> None:
        # AF_UNIX paths are short (108 bytes): pytest's tmp_path can be too long.
        self.folder = tempfile.mkdtemp(prefix="alertbot-notify-")
        self.path = os.path.join(self.folder, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages: list[str] = []

    def wait_for(self, message: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while message not in self.messages:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {message!r} from the service; got {self.messages}")
            self.sock.settimeout(left)
            try:
                self.messages.extend(self.sock.recv(4096).decode().split("\n"))
            except TimeoutError:
                continue

    def close(self) -> None:
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def write_config(
    path: Path, *, db_url: str, port: int, source: str, smtp: SmtpSink, slack_url: str
) -> Path:
    path.write_text(
        f"""
database_url = "{db_url}"
secret_key = "end-to-end-test-secret-key"
log_level = "INFO"

[[sources]]
name = "loopback"
location = "{source}/hf-papers-blocks.txt"

[web]
host = "127.0.0.1"
port = {port}
public_url = "http://127.0.0.1:{port}"

[smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from_address = "alertbot <alertbot@example.org>"

[slack]
bot_token = "xoxb-test-token"
signing_secret = "test-signing-secret"
api_url = "{slack_url}"

[delivery]
backoff_base_seconds = 0.0

[schedule]
dispatch_interval_seconds = 1
heartbeat_seconds = 1
""",
        encoding="utf-8",
    )
    return path


def subscriber_due_now(engine: Engine, *, slack: bool) -> None:
    """A subscriber whose send time passed a minute ago, matching many papers."""
    now = utcnow()
    sub = create_subscriber(
        engine,
        name="ada",
        now=now,
        profile=Profile(interests=("neural", "language model")),
        timezone="UTC",
        send_time=due_a_minute_ago(now),
    )
    add_endpoint(engine, sub.id, EndpointKind.EMAIL, "ada@example.org", now=now)
    if slack:
        add_endpoint(engine, sub.id, EndpointKind.SLACK_USER, "U0ADA", now=now, slack_team_id="T1")


def outbox_states(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(schema.outbox.c.state)).scalars())


@contextmanager
def service(
    config: Path, tmp_path: Path, notify: NotifySocket, *options: str
) -> Iterator[subprocess.Popen[bytes]]:
    env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="2000000")
    env.pop("WATCHDOG_PID", None)
    log = (tmp_path / "service.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "alertbot", "run", "--config", str(config), *options],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()


def stop(process: subprocess.Popen[bytes]) -> tuple[int, float]:
    """SIGTERM; returns the exit code and the seconds it took."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=15)
    return code, time.monotonic() - started


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    sock = NotifySocket()
    yield sock
    sock.close()


def test_it_fetches_delivers_reports_health_and_stops_cleanly(
    tmp_path: Path, notify: NotifySocket
) -> None:
    """alertbot run delivers the due digest by email and Slack, is healthy, exits 0 on SIGTERM."""
    db_url = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    engine = connect(db_url)
    migrate(engine)
    subscriber_due_now(engine, slack=True)
    port = free_port()
    with http_server(DumpHandler) as source, smtp_server() as smtp, slack_api() as slack:
        config = write_config(
            tmp_path / "alertbot.toml",
            db_url=db_url,
            port=port,
            source=source,
            smtp=smtp,
            slack_url=slack.url,
        )
        with service(config, tmp_path, notify) as process:
            notify.wait_for("READY=1", timeout=30)
            messages = smtp.wait_for(1, timeout=30)
            wait_until(lambda: slack.calls_to("chat.postMessage"), 30, "the Slack post")
            wait_until(lambda: outbox_states(engine) == ["sent", "sent"], 30, "both rows sent")
            notify.wait_for("WATCHDOG=1", timeout=10)

            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            metrics_text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            unsubscribe = httpx.get(f"http://127.0.0.1:{port}/unsubscribe", timeout=10)
            forged = httpx.post(f"http://127.0.0.1:{port}/slack/commands", data={}, timeout=10)

            code, seconds = stop(process)
        log = (tmp_path / "service.log").read_text(encoding="utf-8", errors="replace")

    assert code == 0, log
    assert seconds < 10
    assert "Traceback" not in log
    notify.wait_for("STOPPING=1", timeout=1)

    assert len(messages) == 1
    assert "ada@example.org" in messages[0]["To"]
    post = slack.calls_to("chat.postMessage")[0]
    assert post["_authorization"] == "Bearer xoxb-test-token"

    assert health.status_code == 200, health.text
    body = health.json()
    assert body["scheduler_running"] is True
    assert [(s["name"], s["status"]) for s in body["sources"]] == [("loopback", "ok")]
    assert body["outbox"]["counts"].get("sent") == 2

    families = {f.name: f for f in text_string_to_metric_families(metrics_text)}
    sent = sum(
        s.value for s in families["alertbot_digests_sent"].samples if s.name.endswith("_total")
    )
    assert sent == 2
    assert "xoxb-test-token" not in log
    # The Slack and unsubscribe routes are mounted (an unsigned Slack request is refused).
    assert unsubscribe.status_code != 404
    assert forged.status_code == 401
    assert outbox_states(engine) == ["sent", "sent"]
    engine.dispose()


def test_it_finishes_the_message_in_flight_on_sigterm(tmp_path: Path, notify: NotifySocket) -> None:
    """SIGTERM during an SMTP exchange: the message completes, nothing is left 'sending'."""
    db_url = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    engine = connect(db_url)
    migrate(engine)
    subscriber_due_now(engine, slack=False)
    port = free_port()
    with http_server(DumpHandler) as source, smtp_server() as smtp, slack_api() as slack:
        smtp.behaviour.hang_after_data = 2.0  # the server takes 2 s to accept the message
        config = write_config(
            tmp_path / "alertbot.toml",
            db_url=db_url,
            port=port,
            source=source,
            smtp=smtp,
            slack_url=slack.url,
        )
        at_dot = threading.Event()
        smtp.behaviour.on_data = at_dot.set
        with service(config, tmp_path, notify) as process:
            notify.wait_for("READY=1", timeout=30)
            # Inside the SMTP exchange: the server has the final dot and has not answered.
            wait_until(at_dot.is_set, 30, "the message's final dot at the server")
            code, seconds = stop(process)
        log = (tmp_path / "service.log").read_text(encoding="utf-8", errors="replace")
        assert code == 0, log
        # Seconds, not the 30 s systemd waits before SIGKILL; generous for a loaded machine
        # running the suite in parallel (its shutdown was 1-3 s alone, 12.8 s once there).
        assert seconds < 20
        assert len(smtp.messages) == 1
    assert outbox_states(engine) == ["sent"]
    engine.dispose()


def test_it_runs_an_extra_delivery_worker_that_only_sends(
    tmp_path: Path, notify: NotifySocket
) -> None:
    """run --worker sends a digest already queued, serves no HTTP, and exits 0 on SIGTERM."""
    db_url = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    engine = connect(db_url)
    migrate(engine)
    subscriber_due_now(engine, slack=False)
    now = utcnow()
    upsert_papers(
        engine, parse_bytes(DUMP, name="dump", fetched_at=now).papers, source="dump", now=now
    )
    port = free_port()
    with http_server(DumpHandler) as source, smtp_server() as smtp, slack_api() as slack:
        config = write_config(
            tmp_path / "alertbot.toml",
            db_url=db_url,
            port=port,
            source=source,
            smtp=smtp,
            slack_url=slack.url,
        )
        assert queue_due(engine, load_settings(config), now=now) == 1
        with service(config, tmp_path, notify, "--worker") as process:
            notify.wait_for("READY=1", timeout=30)
            smtp.wait_for(1, timeout=30)
            wait_until(lambda: outbox_states(engine) == ["sent"], 30, "the row sent")
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            code, seconds = stop(process)
        log = (tmp_path / "service.log").read_text(encoding="utf-8", errors="replace")
    assert code == 0, log
    assert seconds < 10
    assert "fetched" not in log  # the worker never fetches
    engine.dispose()


class CountingDumpHandler(DumpHandler):
    """The dump source, counting the fetches it serves."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        CountingDumpHandler.requests.append(self.path)
        super().do_GET()


def test_a_second_run_on_a_taken_port_stops_before_fetching_anything(
    tmp_path: Path, notify: NotifySocket
) -> None:
    """The port is bound first: exit 3 with one line naming it, and no fetch, no send."""
    CountingDumpHandler.requests.clear()
    db_url = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with http_server(CountingDumpHandler) as source, smtp_server() as smtp:
            config = write_config(
                tmp_path / "alertbot.toml",
                db_url=db_url,
                port=port,
                source=source,
                smtp=smtp,
                slack_url="http://127.0.0.1:9/api/",
            )
            with service(config, tmp_path, notify) as process:
                code = process.wait(timeout=30)
            time.sleep(0.5)  # a fetch started by mistake would have reached the source
    log = (tmp_path / "service.log").read_text(encoding="utf-8", errors="replace")
    assert code == 3, log
    errors = [line for line in log.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: cannot listen on 127.0.0.1:{port}: address already in use "
        "(another alertbot run? set web.port)"
    ]
    assert "Traceback" not in log
    assert CountingDumpHandler.requests == []
    assert "service stopping" not in log
    assert smtp.messages == []


def test_it_says_at_start_up_what_is_off(tmp_path: Path, notify: NotifySocket) -> None:
    """Without Slack settings the log says /subscribe is off and why; /slack/* is 404."""
    db_url = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    port = free_port()
    with http_server(DumpHandler) as source, smtp_server() as smtp:
        config = write_config(
            tmp_path / "alertbot.toml",
            db_url=db_url,
            port=port,
            source=source,
            smtp=smtp,
            slack_url="http://127.0.0.1:9/api/",
        )
        text = config.read_text(encoding="utf-8")
        start, end = text.index("[slack]"), text.index("[delivery]")
        config.write_text(text[:start] + text[end:], encoding="utf-8")
        with service(config, tmp_path, notify) as process:
            notify.wait_for("READY=1", timeout=30)
            slack = httpx.post(f"http://127.0.0.1:{port}/slack/commands", data={}, timeout=10)
            code, _ = stop(process)
    log = (tmp_path / "service.log").read_text(encoding="utf-8", errors="replace")
    assert code == 0, log
    assert slack.status_code == 404
    assert f"email: via 127.0.0.1:{smtp.port} (none)" in log
    assert "slack digests: off (slack.bot_token is unset)" in log
    assert "slack /subscribe: off (no slack.signing_secret or slack.app_token)" in log


class SlowResponseUrl(QuietHandler):
    """Slack's response_url, taking 3 s to answer; records when it answered."""

    answered: ClassVar[list[float]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(3)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        SlowResponseUrl.answered.append(time.time())


def _logged_at(log: str, event: str) -> float:
    line = next(x for x in log.splitlines() if f"alertbot.service: {event}" in x)
    return datetime.fromisoformat(line.split(" ", 1)[0]).timestamp()


def test_nothing_runs_on_after_service_stopped(tmp_path: Path, notify: NotifySocket) -> None:
    """A /subscribe follow-up in flight at SIGTERM finishes before "service stopped",
    and nothing (no traceback) is logged after it."""
    SlowResponseUrl.answered.clear()
    db_url = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    port = free_port()
    with (
        http_server(DumpHandler) as source,
        smtp_server() as smtp,
        slack_api() as slack,
        http_server(SlowResponseUrl) as response_url,
    ):
        config = write_config(
            tmp_path / "alertbot.toml",
            db_url=db_url,
            port=port,
            source=source,
            smtp=smtp,
            slack_url=slack.url,
        )
        with service(config, tmp_path, notify) as process:
            notify.wait_for("READY=1", timeout=30)
            body = command_body("preview", response_url=f"{response_url}/hook")
            ack = httpx.post(
                f"http://127.0.0.1:{port}/slack/commands",
                content=body,
                headers=signed_headers(body, secret="test-signing-secret"),
                timeout=10,
            )
            time.sleep(0.5)  # the follow-up is now waiting on the slow response_url
            code, _ = stop(process)
    log = (tmp_path / "service.log").read_text(encoding="utf-8", errors="replace")
    assert ack.status_code == 200, ack.text
    assert code == 0, log
    assert len(SlowResponseUrl.answered) == 1
    assert _logged_at(log, "service stopped") >= SlowResponseUrl.answered[0]
    assert log.rstrip().splitlines()[-1].endswith("alertbot.service: service stopped"), log
    assert "Traceback" not in log

"""Credentials in a source URL are used to fetch, and shown nowhere (issue 10, point 9).

One test per place a URL is shown or stored for display: the CLI's output, the log
lines, the fetch log table, ``config show``, ``/healthz`` and error messages. The source
is ``http://reader:PW@127.0.0.1:PORT/feed?token=T`` against a real server that serves the
listing only to those credentials.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import Engine, select

from alertbot.config import Settings
from alertbot.logs import LineFormatter, configure
from alertbot.pipeline import fetch_sources
from alertbot.redact import MASK
from alertbot.schedule.health import HealthState
from alertbot.sources import HttpSource, SourceError, make_client
from alertbot.store import connect
from alertbot.store.schema import fetch_log
from alertbot.web.app import health_report
from tests.helpers import FIXTURES
from tests.helpers.cli import run
from tests.servers import QuietHandler, free_port, http_server

PASSWORD = "pw-Xq81"
TOKEN = "tok-Zr93"
SECRETS = (PASSWORD, TOKEN)
BODY = (FIXTURES / "hf-daily-papers.json").read_bytes()
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Guarded(QuietHandler):
    """Serves the listing at /feed only with Basic auth reader:PW and ?token=T."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        type(self).seen.append((self.path, auth))
        expected = "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
        if self.path != f"/feed?token={TOKEN}" or auth != expected:
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


@pytest.fixture
def guarded() -> Iterator[str]:
    """The guarded server's address (``127.0.0.1:PORT``), its request log emptied."""
    Guarded.seen = []
    with http_server(Guarded) as url:
        yield url.removeprefix("http://")


def secret_url(host: str, path: str = "/feed") -> str:
    return f"http://reader:{PASSWORD}@{host}{path}?token={TOKEN}"


def closed() -> str:
    """A credentialed URL on a port nothing listens on: every fetch fails."""
    return secret_url(f"127.0.0.1:{free_port()}")


def config_file(tmp_path: Path, location: str) -> Path:
    path = tmp_path / "alertbot.toml"
    path.write_text(
        f'[[sources]]\nname = "feed"\nlocation = "{location}"\n'
        "[http]\nretries = 1\nbackoff_seconds = 0.0\ntimeout_seconds = 2.0\n",
        encoding="utf-8",
    )
    return path


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def stored_fetches(tmp_path: Path) -> list[tuple[str, str | None]]:
    engine = connect(f"sqlite:///{tmp_path / 'data' / 'alertbot.sqlite3'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(fetch_log.c.location, fetch_log.c.error)).all()
    finally:
        engine.dispose()
    return [(r.location, r.error) for r in rows]


def test_it_fetches_with_the_real_credentials(guarded: str, tmp_path: Path) -> None:
    """The server sees the password and the token: redaction is for display only."""
    result = run("fetch", "-c", str(config_file(tmp_path, secret_url(guarded))))
    assert result.exit_code == 0, result.output
    assert Guarded.seen[-1][0] == f"/feed?token={TOKEN}"
    assert_no_secret(result.output)


def test_it_keeps_credentials_out_of_the_fetch_commands_output(tmp_path: Path) -> None:
    """`alertbot fetch` of a failing credentialed source: its table, error line and logs."""
    result = run("fetch", "-c", str(config_file(tmp_path, closed())))
    assert result.exit_code == 1
    assert_no_secret(result.stdout + result.stderr)
    assert f"reader:{MASK}@127.0.0.1" in result.stderr
    assert f"token={MASK}" in result.stderr


def test_it_keeps_credentials_out_of_the_fetch_log_table(guarded: str, tmp_path: Path) -> None:
    """The fetch log stores the location and the error with the credentials masked."""
    run("fetch", "-c", str(config_file(tmp_path, secret_url(guarded))))
    run("fetch", "-c", str(config_file(tmp_path, closed())))
    rows = stored_fetches(tmp_path)
    assert len(rows) == 2
    for location, error in rows:
        assert_no_secret(location + (error or ""))
        assert location.startswith(f"http://reader:{MASK}@127.0.0.1:")
    assert rows[1][1] is not None


def test_it_keeps_credentials_out_of_the_log_lines(
    tmp_path: Path, sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """The service's log lines of a failed fetch (retry and result) show no credential."""
    settings = Settings(
        data_dir=tmp_path / "data",
        sources=[{"name": "feed", "location": closed()}],
        http={"retries": 1, "backoff_seconds": 0.0, "timeout_seconds": 2.0},
    )
    configure("INFO", timestamps=False)
    (outcome,) = fetch_sources(sqlite_engine, settings, now=lambda: NOW)
    assert outcome.status == "error"
    err = capsys.readouterr().err
    assert "retrying fetch" in err
    assert "fetched source" in err
    assert_no_secret(err)


@pytest.mark.parametrize("format", ["text", "json"])
def test_the_log_format_masks_credentials_in_any_record(format: str) -> None:
    """Whatever writes a line (uvicorn's access log, a library's message, a traceback),
    the formatter masks URL credentials and token parameters in it."""
    formatter = LineFormatter(format="json" if format == "json" else "text", timestamps=False)
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/1.1" %d',
        ("127.0.0.1:5000", "GET", f"/unsubscribe?token={TOKEN}", 200),
        None,
    )
    line = formatter.format(record)
    assert_no_secret(line)
    assert f"/unsubscribe?token={MASK}" in line
    try:
        raise SourceError(f"{secret_url('h')}: boom")
    except SourceError:
        record = logging.LogRecord(
            "alertbot.x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    line = formatter.format(record)
    assert_no_secret(line)
    if format == "json":
        assert json.loads(line)["exception"]


def test_it_keeps_credentials_out_of_config_show(tmp_path: Path) -> None:
    """`config show` masks the URL's password and its token parameter."""
    location = secret_url("example.org")
    result = run("config", "show", "--json", "-c", str(config_file(tmp_path, location)))
    assert result.exit_code == 0, result.output
    assert_no_secret(result.stdout)
    shown = json.loads(result.stdout)["sources"][0]["location"]
    assert shown == f"http://reader:{MASK}@example.org/feed?token={MASK}"


def test_it_keeps_credentials_out_of_healthz(tmp_path: Path, sqlite_engine: Engine) -> None:
    """/healthz after a failed credentialed fetch names the source, never its URL."""
    settings = Settings(
        data_dir=tmp_path / "data",
        sources=[{"name": "feed", "location": closed()}],
        http={"retries": 0, "timeout_seconds": 2.0},
    )
    fetch_sources(sqlite_engine, settings, now=lambda: NOW)
    _, report = health_report(sqlite_engine, settings, now=NOW, health=HealthState(started_at=NOW))
    assert report["sources"][0]["status"] == "error"
    assert_no_secret(json.dumps(report))


def test_it_keeps_credentials_out_of_error_messages(guarded: str) -> None:
    """A refused fetch (403) and an unreachable one raise errors that show no credential."""
    settings = Settings().http.model_copy(update={"retries": 0, "timeout_seconds": 2.0})
    with make_client(settings) as client:
        for url in (secret_url(guarded, "/elsewhere"), closed()):
            source = HttpSource("feed", url, client=client, settings=settings)
            with pytest.raises(SourceError) as caught:
                source.fetch()
            assert_no_secret(str(caught.value))
            assert f"token={MASK}" in str(caught.value)


def test_it_keeps_credentials_out_of_the_parse_commands_error(guarded: str) -> None:
    """`alertbot parse URL` that fails prints one line without the credentials."""
    result = run("parse", secret_url(guarded, "/elsewhere"))
    assert result.exit_code == 1
    assert_no_secret(result.stdout + result.stderr)
    assert "403" in result.stderr

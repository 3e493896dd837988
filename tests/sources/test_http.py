"""The HTTP source against a real server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import httpx
import pytest

from alertbot.config_sections import HttpSettings
from alertbot.sources import HttpSource, SourceError, Validators, make_client
from tests.helpers import FIXTURES
from tests.servers import QuietHandler, http_server

BODY = (FIXTURES / "hf-daily-papers.json").read_bytes()
FAST = HttpSettings(timeout_seconds=2.0, retries=2, backoff_seconds=0.0, max_bytes=1_000_000)


class Script(QuietHandler):
    """Answers from a per-test script: a list of (status, headers, body) or "hang"."""

    script: ClassVar[list[tuple[int, dict[str, str], bytes] | str]] = []
    requests: ClassVar[list[dict[str, str]]] = []
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            type(self).requests.append(dict(self.headers))
            step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if step == "hang":
            time.sleep(1.0)
            return
        assert not isinstance(step, str)
        status, headers, body = step
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def _running_server() -> Iterator[str]:
    with http_server(Script) as url:
        yield url


@pytest.fixture
def server(_running_server: str) -> str:
    """The module's scripted server, with an empty script and request log."""
    Script.script = []
    Script.requests = []
    return _running_server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(FAST) as c:
        yield c


def source(url: str, client: httpx.Client, settings: HttpSettings = FAST) -> HttpSource:
    sleeps: list[float] = []
    return HttpSource(
        "hf", f"{url}/api/daily_papers", client=client, settings=settings, sleep=sleeps.append
    )


def test_it_fetches_a_listing(server: str, client: httpx.Client) -> None:
    """A 200 gives one document with the body and the response's validators."""
    Script.script = [
        (200, {"ETag": '"v1"', "Last-Modified": "Sun, 01 Mar 2026 08:00:00 GMT"}, BODY)
    ]
    fetched = source(server, client).fetch()
    assert fetched.status == "ok"
    assert fetched.documents[0].data == BODY
    assert fetched.documents[0].name.endswith("/api/daily_papers")
    assert fetched.validators == Validators('"v1"', "Sun, 01 Mar 2026 08:00:00 GMT")
    assert Script.requests[0]["User-Agent"] == FAST.user_agent


def test_it_sends_a_conditional_get_and_understands_304(server: str, client: httpx.Client) -> None:
    """With validators, the request carries If-None-Match/If-Modified-Since; 304 is not_modified."""
    Script.script = [(304, {}, b"")]
    fetched = source(server, client).fetch(Validators('"v1"', "Sun, 01 Mar 2026 08:00:00 GMT"))
    assert fetched.status == "not_modified"
    assert fetched.documents == []
    assert Script.requests[0]["If-None-Match"] == '"v1"'
    assert Script.requests[0]["If-Modified-Since"] == "Sun, 01 Mar 2026 08:00:00 GMT"


def test_it_fails_at_once_on_404(server: str, client: httpx.Client) -> None:
    """A 4xx is permanent: one request, an error naming the URL and the status."""
    Script.script = [(404, {}, b"not here")]
    with pytest.raises(SourceError, match=r"/api/daily_papers: HTTP 404 Not Found$"):
        source(server, client).fetch()
    assert len(Script.requests) == 1


def test_it_retries_500_then_gives_up(server: str, client: httpx.Client) -> None:
    """A 5xx is retried ``retries`` times, then reported with the attempt count."""
    Script.script = [(500, {}, b"oops")]
    with pytest.raises(SourceError, match=r"HTTP 500 Internal Server Error \(after 3 attempts\)"):
        source(server, client).fetch()
    assert len(Script.requests) == 3


def test_it_recovers_when_a_retry_succeeds(server: str, client: httpx.Client) -> None:
    """A 503 then a 429 then a 200: the listing arrives, honouring Retry-After."""
    Script.script = [(503, {}, b""), (429, {"Retry-After": "0"}, b""), (200, {}, BODY)]
    sleeps: list[float] = []
    src = HttpSource("hf", f"{server}/x", client=client, settings=FAST, sleep=sleeps.append)
    assert src.fetch().documents[0].data == BODY
    assert len(sleeps) == 2


def test_it_backs_off_exponentially(server: str, client: httpx.Client) -> None:
    """Delays double between attempts."""
    Script.script = [(502, {}, b"")]
    sleeps: list[float] = []
    settings = FAST.model_copy(update={"backoff_seconds": 0.5, "retries": 3})
    src = HttpSource("hf", f"{server}/x", client=client, settings=settings, sleep=sleeps.append)
    with pytest.raises(SourceError):
        src.fetch()
    assert sleeps == [0.5, 1.0, 2.0]


def test_it_refuses_a_long_retry_after(server: str, client: httpx.Client) -> None:
    """A Retry-After beyond the cap fails this fetch instead of blocking the others."""
    Script.script = [(429, {"Retry-After": "3600"}, b"")]
    with pytest.raises(SourceError, match="retry after 3600 s"):
        source(server, client).fetch()


def test_it_times_out_a_slow_server(server: str) -> None:
    """A server that does not answer in time is retried, then reported as a timeout."""
    Script.script = ["hang"]
    settings = FAST.model_copy(update={"timeout_seconds": 0.2, "retries": 1})
    with make_client(settings) as slow_client, pytest.raises(SourceError, match="timed out"):
        source(server, slow_client, settings).fetch()
    assert len(Script.requests) == 2


def test_it_refuses_an_oversized_body_by_header(server: str, client: httpx.Client) -> None:
    """A declared Content-Length above max_bytes is refused before reading."""
    Script.script = [(200, {}, b"x" * 2000)]
    settings = FAST.model_copy(update={"max_bytes": 1000})
    with pytest.raises(SourceError, match="exceeds 1000"):
        source(server, client, settings).fetch()


class Chunked(QuietHandler):
    """Streams a body without Content-Length, as a misbehaving server might."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        for _ in range(50):
            self.wfile.write(b"y" * 100)


def test_it_refuses_an_oversized_streamed_body(client: httpx.Client) -> None:
    """Without Content-Length the cap is enforced while streaming."""
    settings = FAST.model_copy(update={"max_bytes": 1000})
    with http_server(Chunked) as url, pytest.raises(SourceError, match="exceeds 1000"):
        source(url, client, settings).fetch()


def test_it_reports_a_refused_connection(client: httpx.Client) -> None:
    """Nothing listening: a connection error after the retries, naming the URL."""
    with http_server(Script) as url:
        pass  # the port is closed again once the server stops
    with pytest.raises(SourceError, match=r"^http://127\.0\.0\.1:\d+/api/daily_papers: Connect"):
        source(url, client).fetch()

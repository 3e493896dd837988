"""Real servers on loopback that tests talk to instead of the outside world.

Each server runs in a thread of the test process and is a context manager that
yields its base URL (or host/port). Nothing here is a mock: alertbot's own clients
(httpx, smtplib, slack-sdk) speak their real protocols to these.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.message
import email.policy
import json
import os
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not print a line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port; yields ``http://127.0.0.1:PORT``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- SMTP -----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpBehaviour:
    """How the SMTP sink misbehaves; every field can be changed while it runs.

    ``data_replies`` are consumed one per DATA command (a reply such as
    ``"451 4.3.0 try later"`` refuses that message); once empty, messages are accepted.
    ``rcpt_replies`` likewise refuse RCPT commands, one each (the relay refusing the
    address). ``drop_before_mail`` closes the connection without a word when the next MAIL
    command arrives, that many times. ``hang_after_data`` waits before answering the
    final dot, which is how a timeout after DATA looks to the client. ``on_data`` is
    called when a final dot arrives, before the message is kept and answered: a test's
    way of acting at that exact instant (killing the client, locking its database).
    """

    data_replies: deque[str] = field(default_factory=deque)
    rcpt_replies: deque[str] = field(default_factory=deque)
    drop_before_mail: int = 0
    drop_after_messages: int | None = None
    hang_after_data: float = 0.0
    on_data: Callable[[], None] | None = None


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # what aiosmtpd does when there is no hook
        if self.sink.pipelining:
            # aiosmtpd reads commands in order from the stream, so it handles pipelined
            # ones; it just does not say so. Postfix and the large relays do.
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        b = self.sink.behaviour
        with self.sink.lock:
            reply = b.rcpt_replies.popleft() if b.rcpt_replies else None
            if reply is not None and not reply.startswith("2"):  # a 250 there accepts
                self.sink.refused += 1
                return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        b = self.sink.behaviour
        with self.sink.lock:
            dropping = b.drop_before_mail > 0 or (
                b.drop_after_messages is not None
                and len(self.sink.messages) >= b.drop_after_messages
            )
            if dropping:
                if b.drop_before_mail > 0:
                    b.drop_before_mail -= 1
                b.drop_after_messages = None
                self.sink.drops += 1
        if dropping:
            server.transport.close()
            return "421 4.3.0 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        b = self.sink.behaviour
        if b.on_data is not None:
            b.on_data()
        if b.hang_after_data:
            await asyncio.sleep(b.hang_after_data)
        with self.sink.lock:
            reply = b.data_replies.popleft() if b.data_replies else None
            if reply is not None:
                self.sink.refused += 1
                return reply
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.sink.messages.append(message)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.sink.auth_logins.append(
                session.authenticated and session.auth_data and session.auth_data.login
            )
        return "250 Message accepted for delivery"


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

    host: str
    port: int
    ca_file: str | None = None
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    auth_logins: list[Any] = field(default_factory=list)
    behaviour: SmtpBehaviour = field(default_factory=SmtpBehaviour)
    pipelining: bool = True  # advertised in EHLO (RFC 2920)
    drops: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[email.message.EmailMessage]:
        """Wait until ``count`` messages have arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")


@contextmanager
def smtp_server(
    *,
    starttls: bool = False,
    implicit_tls: bool = False,
    auth: dict[str, str] | None = None,
    tmp_dir: str | None = None,
    port: int | None = None,
    pipelining: bool = True,
) -> Iterator[SmtpSink]:
    """Run aiosmtpd on a free loopback port (or on ``port``: a relay that reopens).

    ``pipelining``: whether EHLO offers PIPELINING (RFC 2920), as Postfix does.

    ``starttls``/``implicit_tls`` use a certificate from a throwaway CA (trustme);
    the CA's PEM is written to ``tmp_dir`` and its path is ``sink.ca_file``, for the
    client's verifying TLS context. ``auth`` maps user names to passwords and makes
    AUTH required.
    """
    port = port or free_port()
    ca_file = None
    server_ctx: ssl.SSLContext | None = None
    if starttls or implicit_tls:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(server_ctx)
        folder = tmp_dir or tempfile.mkdtemp(prefix="alertbot-ca-")
        ca_file = os.path.join(folder, "test-ca.pem")
        ca.cert_pem.write_to_path(ca_file)
    sink = SmtpSink(host="127.0.0.1", port=port, ca_file=ca_file, pipelining=pipelining)

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if (
            auth is not None
            and isinstance(data, LoginPassword)
            and auth.get(data.login.decode()) == data.password.decode()
        ):
            return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)

    kwargs: dict[str, Any] = {}
    if starttls:
        kwargs.update(tls_context=server_ctx, require_starttls=True)
    if implicit_tls:
        kwargs["ssl_context"] = server_ctx
    if auth is not None:
        kwargs.update(
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=starttls or implicit_tls,
        )
    controller = Controller(
        _SinkHandler(sink),
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        ready_timeout=10,
        **kwargs,
    )
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class SilentRelay:
    """A TCP server that accepts connections and never says a word (no SMTP greeting)."""

    host: str
    port: int
    connections: int = 0


@contextmanager
def _listening(on_connection: Callable[[socket.socket], None]) -> Iterator[tuple[str, int]]:
    """A free loopback port; each connection accepted is handed to ``on_connection`` (in
    the accepting thread) until the block ends. Yields the host and port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            on_connection(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", int(listener.getsockname()[1])
    finally:
        done.set()
        thread.join(timeout=5)
        listener.close()


@contextmanager
def silent_server() -> Iterator[SilentRelay]:
    """Accept every connection on a free loopback port, hold it open, never answer."""
    held: list[socket.socket] = []
    relay: SilentRelay | None = None

    def hold(conn: socket.socket) -> None:
        held.append(conn)
        assert relay is not None  # set before the first connection can arrive
        relay.connections += 1

    try:
        with _listening(hold) as (host, port):
            relay = SilentRelay(host, port)
            yield relay
    finally:
        for conn in held:
            conn.close()


@dataclass
class ScriptedRelay:
    """An SMTP server on raw sockets that answers as ``replies`` say (by command verb,
    ``END`` for the final dot), including answers aiosmtpd would never give (a 354 to
    DATA after refusing the only recipient). It offers PIPELINING and, after a MAIL,
    holds its answers until RCPT and DATA have come too (at most a second), so
    ``groups`` shows which commands arrived before the client waited for a reply."""

    host: str
    port: int
    replies: dict[str, str]
    groups: list[list[str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


@contextmanager
def scripted_relay(replies: dict[str, str]) -> Iterator[ScriptedRelay]:
    relay = ScriptedRelay("", 0, dict(replies))
    done = threading.Event()
    defaults = {"EHLO": "250-relay\r\n250-PIPELINING\r\n250 8BITMIME", "RSET": "250 ok",
                "QUIT": "221 bye", "MAIL": "250 ok", "RCPT": "250 ok", "DATA": "354 go",
                "END": "250 queued"}  # fmt: skip

    def answer(verb: str) -> bytes:
        return (relay.replies.get(verb) or defaults.get(verb, "500 what")).encode() + b"\r\n"

    def serve(conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        conn.sendall(b"220 scripted relay\r\n")
        while not done.is_set():
            line = reader.readline()
            if not line:
                return
            group = [line.decode().strip()]
            if group[0].upper().startswith("MAIL"):
                conn.settimeout(1.0)
                with contextlib.suppress(TimeoutError):
                    while len(group) < 3:
                        group.append(reader.readline().decode().strip())
                conn.settimeout(None)
            relay.groups.append(group)
            for command in group:
                verb = command.split(" ", 1)[0].split(":", 1)[0].upper()
                conn.sendall(answer(verb))
                if verb == "DATA" and answer(verb).startswith(b"354"):
                    body = b""
                    while not body.endswith(b"\r\n.\r\n") and body != b".\r\n":
                        chunk = reader.readline()
                        if not chunk:
                            return
                        body += chunk
                    relay.bodies.append(body)
                    conn.sendall(answer("END"))
                if verb == "QUIT":
                    return

    def start(conn: socket.socket) -> None:
        threading.Thread(target=_serve_closing, args=(serve, conn), daemon=True).start()

    try:
        with _listening(start) as (relay.host, relay.port):
            yield relay
    finally:
        done.set()


def _serve_closing(serve: Callable[[socket.socket], None], conn: socket.socket) -> None:
    with conn, contextlib.suppress(OSError):
        serve(conn)


@dataclass
class TcpProxy:
    """A loopback TCP proxy to a real server, which a test can cut like a network.

    ``cut()`` drops every open connection and refuses new ones (the server looks gone,
    as when PostgreSQL restarts); ``restore()`` lets connections through again.
    """

    host: str
    port: int
    open: threading.Event = field(default_factory=threading.Event)
    links: list[socket.socket] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cut(self) -> None:
        self.open.clear()
        with self.lock:
            links, self.links = self.links, []
        for sock in links:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        self.open.set()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    for sock in (source, target):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def tcp_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    """Forward a free loopback port to ``target_host:target_port`` until cut."""
    proxy = TcpProxy("", 0)
    proxy.restore()

    def link(client: socket.socket) -> None:
        if not proxy.open.is_set():
            client.close()  # refused while cut: the client sees the server gone
            return
        try:
            upstream = socket.create_connection((target_host, target_port), timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)  # an idle database connection must stay open
        with proxy.lock:
            proxy.links.extend((client, upstream))
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    try:
        with _listening(link) as (proxy.host, proxy.port):
            yield proxy
    finally:
        proxy.cut()


# -- Slack Web API stand-in ----------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer of the Slack stand-in."""

    body: dict[str, Any] = field(default_factory=lambda: {"ok": True})
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def _default_reply(method: str, params: dict[str, Any], counter: int) -> dict[str, Any]:
    if method == "chat.postMessage":
        return {"ok": True, "channel": params.get("channel"), "ts": f"1700000000.{counter:06d}"}
    if method == "conversations.open":
        users = str(params.get("users", "U0"))
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0]}}
    if method == "users.info":
        return {
            "ok": True,
            "user": {"id": params.get("user"), "tz": "Europe/Paris", "real_name": "Test User"},
        }
    if method == "auth.test":
        return {"ok": True, "team_id": "T1", "user_id": "UBOT", "bot_id": "B1"}
    return {"ok": True}


@dataclass
class SlackStandIn:
    """A local HTTP server that answers like the Slack Web API and records every call.

    Point slack-sdk at it with ``WebClient(base_url=stand_in.url)``. ``script(method,
    Reply(...), ...)`` queues answers for a method (429 with ``Retry-After``, 500,
    ``ok: false`` errors, slow answers); ``answer(method, params)``, when set, answers
    what no script does (or returns None), e.g. by channel; other calls get a plausible
    success. A call is recorded (and, for a post, counts as posted) when it arrives,
    before any delay: a slow answer is Slack having accepted the message.
    Posts to ``{base}/response/<anything>`` are recorded as response_url messages.
    """

    url: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    scripts: dict[str, deque[Reply]] = field(default_factory=dict)
    answer: Callable[[str, dict[str, Any]], Reply | None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, method: str, *replies: Reply) -> None:
        with self.lock:
            self.scripts.setdefault(method, deque()).extend(replies)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [params for m, params in self.calls if m == method]

    @property
    def response_url(self) -> str:
        return self.url.replace("/api/", "/response/") + "hook"


def _read_params(handler: BaseHTTPRequestHandler) -> dict[str, Any]:
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    ctype = handler.headers.get("Content-Type", "")
    params: dict[str, Any] = {}
    if "json" in ctype and raw:
        loaded = json.loads(raw)
        params = loaded if isinstance(loaded, dict) else {"_body": loaded}
    elif raw:
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
    query = urllib.parse.urlsplit(handler.path).query
    params.update({k: v[-1] for k, v in urllib.parse.parse_qs(query).items()})
    auth = handler.headers.get("Authorization")
    if auth:
        params["_authorization"] = auth
    return params


@contextmanager
def slack_api() -> Iterator[SlackStandIn]:
    """Run the Slack stand-in; yields it with ``.url`` set to the API base URL."""
    stand_in = SlackStandIn()
    counter = iter(range(1, 1_000_000))

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            params = _read_params(self)
            if path.startswith("/response/"):
                with stand_in.lock:
                    stand_in.responses.append((path, params))
                self._send(Reply(body={"ok": True}))
                return
            method = path.removeprefix("/api/")
            with stand_in.lock:
                stand_in.calls.append((method, params))
                queue = stand_in.scripts.get(method)
                reply = queue.popleft() if queue else None
                n = next(counter)
                answer = stand_in.answer
            if reply is None and answer is not None:
                reply = answer(method, params)
            self._send(reply or Reply(body=_default_reply(method, params, n)))

        do_GET = do_POST

        def _send(self, reply: Reply) -> None:
            if reply.delay:
                time.sleep(reply.delay)
            body = json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test); nothing to answer

    with http_server(Handler) as base:
        stand_in.url = f"{base}/api/"
        yield stand_in

"""The SMTP channel against a real aiosmtpd server on loopback."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.deliver import SendReport, build_channels, queue_due, send_due
from alertbot.deliver.email import EmailChannel, dot_stuffed
from alertbot.model import Paper
from alertbot.store import deliveries
from alertbot.store.deliveries import delivered_paper_ids
from alertbot.tokens import Signer
from tests.helpers.delivery import NOW, make_papers, make_settings
from tests.servers import SmtpSink, smtp_server


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """Channel behaviour does not depend on the database: SQLite only here."""
    return sqlite_engine


def settings_for(tmp_path: Path, sink: SmtpSink, security: str = "none", **extra: Any) -> Settings:
    return make_settings(
        tmp_path,
        host=sink.host,
        port=sink.port,
        security=security,
        ca_file=sink.ca_file,
        **extra,
    )


def run(engine: Engine, settings: Settings) -> tuple[SendReport, EmailChannel]:
    """Queue what is due at NOW and send it through a fresh email channel."""
    queue_due(engine, settings, now=NOW)
    channels = build_channels(settings)
    report = send_due(engine, settings, now=lambda: NOW, channels=channels, worker_id="w1")
    channel = channels[next(k for k in channels if k.value == "email")]
    assert isinstance(channel, EmailChannel)
    return report, channel


def test_it_sends_digests_over_verified_starttls_with_auth(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """STARTTLS + AUTH: every digest arrives, all over one reused connection."""
    stock()
    for n in range(3):
        subscribe(f"Reader {n}", f"reader{n}@example.org")
    with smtp_server(starttls=True, auth={"bot": "s3cret"}, tmp_dir=str(tmp_path)) as sink:
        settings = settings_for(tmp_path, sink, "starttls", username="bot", password="s3cret")
        report, channel = run(engine, settings)
        received = sink.wait_for(3)
    assert report.counts() == {"sent": 3}
    assert sorted(m["To"].addresses[0].addr_spec for m in received) == [
        f"reader{n}@example.org" for n in range(3)
    ]
    assert sink.auth_logins == [b"bot"] * 3
    assert channel.connections_opened == 1


def test_it_builds_a_multipart_message_with_the_required_headers(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Text then HTML, Message-ID, Date, both List-Unsubscribe headers with a valid token."""
    stock()
    reader = subscribe("Reader", "reader@example.org")
    with smtp_server(implicit_tls=True, tmp_dir=str(tmp_path)) as sink:
        settings = settings_for(
            tmp_path, sink, "ssl", unsubscribe_mailto="unsubscribe@alertbot.example.org"
        )
        run(engine, settings)
        (msg,) = sink.wait_for(1)
    assert msg.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert "Diffusion" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert msg["Message-ID"].endswith("@alertbot.example.org>")
    assert email.utils.parsedate_to_datetime(msg["Date"]) == NOW
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = (part.strip() for part in msg["List-Unsubscribe"].split(","))
    assert https.startswith("<https://alertbot.example.org/unsubscribe?token=")
    assert mailto == "<mailto:unsubscribe@alertbot.example.org?subject=unsubscribe>"
    token = https.removesuffix(">").partition("token=")[2]
    claim = Signer("test-secret-key-0123456789").read_unsubscribe(token)
    assert (claim.subscriber_id, claim.endpoint_id) == (reader.id, reader.endpoints[0].id)


def test_it_never_lets_a_title_with_crlf_make_a_header(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A CR/LF in the top paper's title stays inside the Subject; no Bcc header appears."""
    hostile = make_papers(1, extra="\r\nBcc: victim@example.net\r\n")
    stock(hostile)
    subscribe("Reader", "reader@example.org")
    with smtp_server() as sink:
        run(engine, settings_for(tmp_path, sink))
        (msg,) = sink.wait_for(1)
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"]
    assert sink.envelopes[0][1] == ["reader@example.org"]


def test_it_refuses_a_server_without_starttls(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """security = starttls never falls back to plain text: nothing is sent, the row fails
    (to be retried: the relay, not the message, is at fault)."""
    stock()
    subscribe("Reader", "reader@example.org")
    with smtp_server() as sink:
        report, _ = run(engine, settings_for(tmp_path, sink, "starttls"))
        assert sink.messages == []
    assert [d.state for d in report.deliveries] == ["failed"]
    assert "STARTTLS" in (report.deliveries[-1].error or "")


def test_it_reconnects_when_the_server_drops_the_connection_mid_batch(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A connection closed before MAIL is reopened; every digest is delivered exactly once."""
    stock()
    for n in range(4):
        subscribe(f"Reader {n}", f"reader{n}@example.org")
    with smtp_server() as sink:
        sink.behaviour.drop_after_messages = 2
        report, channel = run(engine, settings_for(tmp_path, sink))
        received = sink.wait_for(4)
    assert report.counts() == {"sent": 4}
    assert sorted(str(m["To"]) for m in received) == sorted({str(m["To"]) for m in received})
    assert sink.drops == 1
    assert channel.connections_opened == 2


def test_it_retries_a_4xx_refusal_and_then_delivers(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A 451 at DATA is transient: the row is retried (at the next run, once per run) and
    delivered once, attempts counted."""
    stock()
    subscribe("Reader", "reader@example.org")
    with smtp_server() as sink:
        sink.behaviour.data_replies.append("451 4.3.0 try again later")
        settings = settings_for(tmp_path, sink)
        report, _ = run(engine, settings)
        (waiting,) = deliveries.list_rows(engine)
        again = send_due(engine, settings, now=lambda: NOW, worker_id="w1")
        sink.wait_for(1)
        assert len(sink.messages) == 1
    assert [d.state for d in report.deliveries + again.deliveries] == ["failed", "sent"]
    assert waiting.state == "failed"  # tried once in the first run, though already due again
    (row,) = deliveries.list_rows(engine)
    assert (row.state, row.attempts) == ("sent", 2)


def test_it_gives_up_at_once_on_a_5xx_refusal(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A 550 is permanent: the row is dead after one attempt and its papers not delivered."""
    stock()
    reader = subscribe("Reader", "reader@example.org")
    with smtp_server() as sink:
        sink.behaviour.data_replies.append("550 5.7.1 message refused")
        report, _ = run(engine, settings_for(tmp_path, sink))
        assert sink.messages == []
    assert [d.state for d in report.deliveries] == ["dead"]
    assert "550" in (report.deliveries[0].error or "")
    assert delivered_paper_ids(engine, reader.endpoints[0].id) == set()


def test_it_marks_a_timeout_after_data_unknown_and_does_not_resend(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Silence after the final dot: state unknown (maybe delivered), not sent again."""
    stock()
    subscribe("Reader", "reader@example.org")
    with smtp_server() as sink:
        sink.behaviour.hang_after_data = 3.0
        settings = settings_for(tmp_path, sink, timeout_seconds=0.5)
        report, _ = run(engine, settings)
        sink.behaviour.hang_after_data = 0.0
        again = send_due(engine, settings, now=lambda: NOW, worker_id="w2")
    assert [d.state for d in report.deliveries] == ["unknown"]
    assert "may have been delivered" in (report.deliveries[0].error or "")
    assert again.deliveries == []
    assert [r.state for r in deliveries.list_rows(engine)] == ["unknown"]


def test_it_does_not_queue_the_same_digest_twice(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Running queue + send again at the same moment sends nothing new."""
    stock()
    subscribe("Reader", "reader@example.org")
    with smtp_server() as sink:
        settings = settings_for(tmp_path, sink)
        first, _ = run(engine, settings)
        second, _ = run(engine, settings)
        assert len(sink.messages) == 1
    assert (first.counts(), second.counts()) == ({"sent": 1}, {})


def test_it_carries_hostile_and_non_latin_text_safely_to_the_inbox(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Script tags stay inert, non-Latin titles survive the Subject, huge abstracts fit."""
    hostile = Paper(
        id="2603.99999",
        title="Diffusion <script>alert(1)</script> 量子拡散モデル Диффузия <!channel> *bold*",
        abstract="diffusion " + "x" * 10_000,
        source_format="lines",
        arxiv_id="2603.99999",
    )
    stock([hostile])
    subscribe("Reader", "reader@example.org")
    with smtp_server() as sink:
        run(engine, settings_for(tmp_path, sink))
        (msg,) = sink.wait_for(1)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "量子拡散モデル Диффузия" in msg["Subject"]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert len(html.encode()) < 100_000


@pytest.mark.parametrize(
    ("data", "stuffed"),
    [
        (b"a\r\n.b\r\n", b"a\r\n..b\r\n"),
        (b".first\r\n", b"..first\r\n"),
        (b"a\r\n.\r\nb\r\n", b"a\r\n..\r\nb\r\n"),
        (b"a\r\n..two\r\n", b"a\r\n...two\r\n"),
        (b"a.b\r\nc .d\r\n", b"a.b\r\nc .d\r\n"),
    ],
)
def test_it_doubles_the_dot_that_starts_a_line(data: bytes, stuffed: bytes) -> None:
    """Every line starting with a dot, the first included, gets a second one; a dot
    elsewhere in a line is left alone."""
    assert dot_stuffed(data) == stuffed


def test_a_body_with_lines_of_dots_arrives_unchanged(tmp_path: Path) -> None:
    """A line that is a lone dot (DATA's end) or starts with dots reaches the server as
    written, from the configured sender, and the message after it is not swallowed."""
    body = "before\r\n.\r\n..two\r\n.after\r\n"
    data = f"Subject: dots\r\nFrom: digest@alertbot.example.org\r\n\r\n{body}".encode()
    with smtp_server() as sink:
        channel = EmailChannel(settings_for(tmp_path, sink).smtp)
        channel.send_bytes("reader@example.org", data)
        channel.send_bytes("other@example.org", data)
        channel.close()
        first, second = sink.wait_for(2)
    assert first.get_payload() == second.get_payload() == body
    assert sink.envelopes == [
        ("digest@alertbot.example.org", ["reader@example.org"]),
        ("digest@alertbot.example.org", ["other@example.org"]),
    ]

"""SMTP PIPELINING (RFC 2920): MAIL, RCPT and DATA in one write where the relay offers it,
each reply still checked before the body goes; the same outcomes as one by one."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from alertbot.config_sections import SmtpSettings
from alertbot.deliver import build_channels, queue_due, send_due
from alertbot.deliver.base import DeliveryError
from alertbot.deliver.email import EmailChannel
from alertbot.deliver.outcome import Outcome
from alertbot.model import Paper
from tests.helpers.delivery import NOW, make_settings
from tests.servers import scripted_relay, smtp_server

MESSAGE = b"Subject: hello\r\nFrom: a@example.org\r\nTo: b@example.org\r\n\r\nbody line\r\n.dot\r\n"


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


def channel_to(host: str, port: int) -> EmailChannel:
    return EmailChannel(SmtpSettings(host=host, port=port, security="none", timeout_seconds=5))


def test_a_relay_offering_pipelining_gets_mail_rcpt_and_data_before_it_answers() -> None:
    """The three commands arrive together (the relay holds its answers until they have),
    and the message arrives intact."""
    with scripted_relay({}) as relay:
        channel = channel_to(relay.host, relay.port)
        channel.send_bytes("b@example.org", MESSAGE)
        channel.send_bytes("c@example.org", MESSAGE)
        channel.close()
    mail_groups = [g for g in relay.groups if g[0].upper().startswith("MAIL")]
    assert [[c.split(":")[0].upper() for c in g] for g in mail_groups] == [
        ["MAIL FROM", "RCPT TO", "DATA"],
        ["MAIL FROM", "RCPT TO", "DATA"],
    ]
    assert mail_groups[1][1].lower() == "rcpt to:<c@example.org>"
    assert relay.bodies == [MESSAGE.replace(b"\n.dot", b"\n..dot") + b".\r\n"] * 2


def test_a_relay_that_answers_354_after_refusing_the_recipient_gets_an_empty_message() -> None:
    """RFC 2920 3.1 says a relay must refuse DATA when no recipient was accepted; one that
    answers 354 anyway is sent a lone dot, not the message, and the refusal counts."""
    with scripted_relay({"RCPT": "550 5.1.1 no such user", "END": "554 no recipients"}) as relay:
        channel = channel_to(relay.host, relay.port)
        with pytest.raises(DeliveryError) as refused:
            channel.send_bytes("nobody@example.org", MESSAGE)
        relay.replies.pop("RCPT")
        relay.replies.pop("END")
        channel.send_bytes("b@example.org", MESSAGE)  # the same connection, usable again
        channel.close()
    assert refused.value.outcome is Outcome.PERMANENT
    assert "550 at RCPT" in refused.value.message
    assert relay.bodies[0] == b".\r\n"
    assert relay.bodies[1].startswith(b"Subject: hello")
    assert channel.connections_opened == 1
    verbs = [c.split(" ")[0].upper() for g in relay.groups for c in g]
    assert verbs.count("RSET") == 1


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
@pytest.mark.parametrize(
    ("reply", "outcome"),
    [("550 5.1.1 no such user", Outcome.PERMANENT), ("450 4.2.1 mailbox busy", Outcome.TRANSIENT)],
)
def test_a_refused_recipient_means_the_same_with_or_without_pipelining(
    pipelining: bool, reply: str, outcome: Outcome
) -> None:
    """aiosmtpd refusing RCPT (then DATA, having no recipient): the same outcome either
    way, nothing delivered for it, and the next message goes on the same connection."""
    with smtp_server(pipelining=pipelining) as sink:
        sink.behaviour.rcpt_replies.append(reply)
        channel = channel_to(sink.host, sink.port)
        with pytest.raises(DeliveryError) as refused:
            channel.send_bytes("nobody@example.org", MESSAGE)
        channel.send_bytes("b@example.org", MESSAGE)
        received = sink.wait_for(1)
        channel.close()
    assert channel._smtp is None  # closed
    assert refused.value.outcome is outcome
    assert f"{reply[:3]} at RCPT" in refused.value.message
    assert [m["To"] for m in received] == ["b@example.org"]
    assert [to for _, to in sink.envelopes] == [["b@example.org"]]
    assert channel.connections_opened == 1


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_a_batch_with_a_refused_address_sends_the_rest(
    pipelining: bool,
    tmp_path: Path,
    engine: Engine,
    stock: Callable[..., list[Paper]],
    subscribe: Any,
) -> None:
    """Through the worker: the refused reader's row is dead, the others are sent, whether
    or not the relay pipelines."""
    stock()
    for n in range(3):
        subscribe(f"Reader {n}", f"reader{n}@example.org")
    with smtp_server(pipelining=pipelining) as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        queue_due(engine, settings, now=NOW)
        sink.behaviour.rcpt_replies.extend(["250 OK", "550 5.1.1 no such user"])
        report = send_due(
            engine, settings, now=lambda: NOW, channels=build_channels(settings), worker_id="w"
        )
        received = sink.wait_for(2)
    assert [d.state for d in report.deliveries] == ["sent", "dead", "sent"]
    assert len(received) == 2
    parsed = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in received]
    assert all(p.get_body(("plain",)) is not None for p in parsed)

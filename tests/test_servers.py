"""The local stand-ins themselves speak the real protocols (so other tests can trust them)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.servers import Reply, slack_api, smtp_server


def _message(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg["To"] = "b@example.org"
    msg["Subject"] = f"m{n}"
    msg.set_content("hi")
    return msg


def test_it_receives_mail_over_verified_starttls_with_auth(tmp_path: Path) -> None:
    """A client that verifies the test CA can STARTTLS, log in and deliver."""
    with smtp_server(starttls=True, auth={"bot": "s3cret"}, tmp_dir=str(tmp_path)) as sink:
        assert sink.ca_file is not None
        ctx = ssl.create_default_context(cafile=sink.ca_file)
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
            client.starttls(context=ctx)
            client.login("bot", "s3cret")
            client.send_message(_message(1))
        assert [m["Subject"] for m in sink.wait_for(1)] == ["m1"]
        assert sink.auth_logins == [b"bot"]


def test_it_refuses_a_wrong_password(tmp_path: Path) -> None:
    """AUTH with a wrong password fails, so channel tests of bad credentials are real."""
    with smtp_server(starttls=True, auth={"bot": "s3cret"}, tmp_dir=str(tmp_path)) as sink:
        ctx = ssl.create_default_context(cafile=sink.ca_file)
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
            client.starttls(context=ctx)
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("bot", "wrong")


def test_it_plays_scripted_refusals_and_drops() -> None:
    """Scripted DATA replies refuse messages; a drop closes the connection at MAIL."""
    with smtp_server() as sink:
        sink.behaviour.data_replies.append("451 4.3.0 try later")
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.send_message(_message(1))
            assert refused.value.smtp_code == 451
            client.send_message(_message(2))
        sink.behaviour.drop_before_mail = 1
        with (
            smtplib.SMTP(sink.host, sink.port, timeout=5) as client,
            pytest.raises(smtplib.SMTPException),
        ):
            client.send_message(_message(3))
        assert [m["Subject"] for m in sink.messages] == ["m2"]
        assert (sink.refused, sink.drops) == (1, 1)


def test_it_answers_like_the_slack_web_api() -> None:
    """slack-sdk pointed at the stand-in gets plausible answers, scripted errors and records."""
    with slack_api() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.url)
        posted = client.chat_postMessage(channel="C1", text="hello")
        assert posted["ok"]
        assert client.conversations_open(users="U9")["channel"]["id"] == "DU9"
        slack.script("chat.postMessage", Reply(body={"ok": False, "error": "channel_not_found"}))
        with pytest.raises(SlackApiError) as failed:
            client.chat_postMessage(channel="C404", text="x")
        assert failed.value.response["error"] == "channel_not_found"
        sent = slack.calls_to("chat.postMessage")
        assert [c["channel"] for c in sent] == ["C1", "C404"]
        assert sent[0]["_authorization"] == "Bearer xoxb-test"

"""One-click unsubscribe as a mail provider does it, from a real sent message's header."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.deliver import build_channels, queue_due, send_due
from alertbot.deliver.confirm import confirmation_message, send_confirmation
from alertbot.model import EndpointKind, Profile
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as store
from alertbot.store.papers import upsert_papers
from tests.helpers.slack import World, build_world, paper, wait_until
from tests.servers import SlackStandIn, free_port, smtp_server

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _subscribe(world: World, name: str) -> int:
    now = world.clock()
    sub = store.create_subscriber(
        world.engine,
        name=name,
        now=now - timedelta(days=3),
        profile=Profile(interests=("diffusion",)),
        send_time=time(8, 0),
    )
    address = f"{name}@example.org"
    return endpoint_store.add_endpoint(
        world.engine, sub.id, EndpointKind.EMAIL, address, now=now - timedelta(days=3)
    ).id


def _send(world: World, day: int) -> None:
    now = world.clock()
    fresh = [paper(f"2603.{day:03d}{i:02d}", f"Diffusion model number {day}-{i}") for i in range(2)]
    upsert_papers(world.engine, fresh, source="test", now=now - timedelta(hours=1))
    queue_due(world.engine, world.settings, now=now)
    send_due(
        world.engine,
        world.settings,
        now=world.clock,
        channels=build_channels(world.settings),
        worker_id="test",
    )


def test_it_unsubscribes_from_the_list_unsubscribe_header_and_skips_the_next_send(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """POST One-Click to the header's URL; the next day Ada gets nothing while Bob still does."""
    with smtp_server() as sink:
        smtp = {"host": sink.host, "port": sink.port, "security": "none"}
        for world in build_world(sqlite_engine, tmp_path, slack, smtp=smtp):
            ada = _subscribe(world, "ada")
            _subscribe(world, "bob")
            _send(world, 1)
            first = sink.wait_for(2)
            to_ada = next(m for m in first if "ada@example.org" in str(m["To"]))
            assert to_ada["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            url = re.findall(r"<(https?://[^>]+)>", str(to_ada["List-Unsubscribe"]))[0]

            response = world.http.post(url, data={"List-Unsubscribe": "One-Click"})
            assert response.status_code == 200
            endpoint = endpoint_store.get_endpoint(world.engine, ada)
            assert endpoint is not None
            assert endpoint.active is False

            world.clock.advance(days=1)
            _send(world, 2)
            later = sink.wait_for(3)
            assert len(later) == 3
            assert "bob@example.org" in str(later[2]["To"])


def test_it_confirms_an_address_from_the_link_in_a_real_confirmation_email(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """``/subscribe email`` mails a link (via the email channel); POSTing it confirms."""
    with smtp_server() as sink:
        smtp = {"host": sink.host, "port": sink.port, "security": "none"}
        for world in build_world(sqlite_engine, tmp_path, slack, smtp=smtp, real_mail=True):
            world.session.reply("email ada@example.org")
            message = sink.wait_for(1)[0]
            assert "ada@example.org" in str(message["To"])
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            url = re.findall(r"https?://\S+/confirm\?token=[\w.\-]+", body.get_content())[0]
            assert world.http.post(url).status_code == 200
            sub = store.find_by_slack(world.engine, "T1", "U1")
            assert sub is not None
            email = next(e for e in sub.endpoints if e.kind == EndpointKind.EMAIL)
            assert (email.confirmed, email.active) == (True, True)


def test_a_refused_confirmation_email_is_reported_back_in_slack(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """The relay refuses the message: the user is told, the address stays off and unconfirmed."""
    with smtp_server() as sink:
        sink.behaviour.data_replies.append("554 5.7.1 rejected as spam")
        smtp = {"host": sink.host, "port": sink.port, "security": "none"}
        for world in build_world(sqlite_engine, tmp_path, slack, smtp=smtp, real_mail=True):
            world.session.reply("email ada@example.org")
            posts = wait_until(lambda: list(slack.responses))
            assert "could not be sent" in str(posts[0][1]["text"])
            assert sink.messages == []
            sub = store.find_by_slack(world.engine, "T1", "U1")
            assert sub is not None
            email = next(e for e in sub.endpoints if e.kind == EndpointKind.EMAIL)
            assert (email.confirmed, email.active) == (False, False)


def test_an_unreachable_relay_is_reported_back_in_slack(
    sqlite_engine: Engine, tmp_path: Path, slack: SlackStandIn
) -> None:
    """Nothing listens on the relay's port: a clear reply instead of a silent loss."""
    smtp = {"host": "127.0.0.1", "port": free_port(), "security": "none", "timeout_seconds": 2}
    for world in build_world(sqlite_engine, tmp_path, slack, smtp=smtp, real_mail=True):
        world.session.reply("email ada@example.org")
        posts = wait_until(lambda: list(slack.responses))
        assert "could not be sent" in str(posts[0][1]["text"])


def test_the_confirmation_email_goes_over_verified_starttls_with_auth(tmp_path: Path) -> None:
    """The same connection rules as digests: STARTTLS required and verified, AUTH used."""
    with smtp_server(starttls=True, auth={"bot": "pw"}, tmp_dir=str(tmp_path)) as sink:
        settings = Settings(
            data_dir=tmp_path / "data",
            smtp={
                "host": sink.host,
                "port": sink.port,
                "security": "starttls",
                "ca_file": sink.ca_file,
                "username": "bot",
                "password": "pw",
                "from_address": "Paper digests <digests@example.org>",
            },
        )
        send_confirmation(
            settings, "ada@example.org", "https://alertbot.example/confirm?token=t", NOW
        )
        message = sink.wait_for(1)[0]
    assert message["To"] == "ada@example.org"
    assert message["Subject"] == "Confirm your alertbot digests"
    assert message["Message-ID"]
    assert message["Date"] == "Fri, 20 Nov 2026 08:00:00 +0000"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "https://alertbot.example/confirm?token=t" in body.get_content()
    assert sink.envelopes[0] == ("digests@example.org", ["ada@example.org"])
    assert sink.auth_logins[0] in ("bot", b"bot")


def test_a_crlf_in_the_address_never_reaches_a_header(tmp_path: Path) -> None:
    """Header injection through the address is flattened onto one line."""
    settings = Settings(data_dir=tmp_path / "data", smtp={"host": "127.0.0.1", "security": "none"})
    data = confirmation_message(
        settings, "ada@example.org\r\nBcc: eve@example.org", "https://x/c", now=NOW
    )
    headers = data.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in data else data.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in headers

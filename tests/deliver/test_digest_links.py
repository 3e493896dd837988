"""A digest as sent, end to end: the email (through a real SMTP sink) and the Slack
message (through the Slack stand-in) link to the digest's page, where "and N more"
becomes that link, and the page the link opens lists every match of that digest."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from alertbot.deliver import build_channels, queue_due, send_due
from alertbot.deliver.slack import make_client
from alertbot.links import signer_for
from alertbot.model import EndpointKind, Paper, Profile
from alertbot.schedule.health import HealthState
from alertbot.store import deliveries
from alertbot.store import profiles as profile_store
from alertbot.web.app import create_app
from alertbot.web.digest import digest_routes
from tests.helpers.delivery import NOW, make_papers, make_settings
from tests.servers import slack_api, smtp_server


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """Links do not depend on the database: SQLite only here."""
    return sqlite_engine


def capped(engine: Engine, reader_id: int, cap: int) -> None:
    profile_store.set_profile(
        engine, reader_id, Profile(interests=("diffusion",), max_papers=cap), now=NOW
    )


def listed(engine: Engine, settings: Any, link: str) -> list[str]:
    app = create_app(
        engine,
        settings,
        now=lambda: NOW,
        health=HealthState(started_at=NOW),
        routes=digest_routes(engine, settings, now=lambda: NOW),
    )
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == settings.web.public_url
    with TestClient(app) as http:
        page = http.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200
    return re.findall(r'name="paper" value="([^"]*)"', page.text)


def test_a_sent_email_links_its_page_which_lists_every_match(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """8 diffusion papers, a cap of 2: the text and HTML parts say "6 more" as a link to
    this row's page, carry "open in your browser" and the archive; the page lists all 8."""
    stock(make_papers(20))
    reader = subscribe("Reader", "reader@example.org")
    capped(engine, reader.id, 2)
    with smtp_server(tmp_dir=str(tmp_path)) as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        queue_due(engine, settings, now=NOW)
        send_due(engine, settings, now=lambda: NOW, channels=build_channels(settings))
        (msg,) = sink.wait_for(1)
    (row,) = deliveries.list_rows(engine)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    page = re.search(r"in your browser: (\S+)", text).group(1)  # type: ignore[union-attr]
    assert urlsplit(page).path == f"/digest/{row.id}"
    claim = signer_for(settings).read_digest(page.split("token=", 1)[1])
    assert (claim.subscriber_id, claim.outbox_id) == (reader.id, row.id)
    text = text.replace("\r\n", "\n")
    assert "… and 6 more matching papers not shown: see them all on the web\n" + page in text
    escaped = page.replace("&", "&amp;")
    assert f'<a href="{escaped}"' in html
    assert "6 more matching papers not shown: see them all on the web</a>" in html
    assert re.search(r"Past digests: \S+/digests\?token=", text)
    assert listed(engine, settings, page) == [m.paper_id for m in (*row.matches(), *row.rest())]
    assert len(listed(engine, settings, page)) == 8


def test_a_posted_slack_digest_links_its_page(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """The Slack message's "and N more" section is a link to the row's page, and its
    footer links the page and the archive."""
    stock(make_papers(20))
    reader = subscribe("Reader", "U123", kind=EndpointKind.SLACK_USER)
    capped(engine, reader.id, 2)
    settings = make_settings(tmp_path)
    with slack_api() as slack:
        client = make_client("xoxb-test", base_url=slack.url, timeout=5)
        queue_due(engine, settings, now=NOW)
        channels = build_channels(settings, slack_client=client)
        send_due(engine, settings, now=lambda: NOW, channels=channels, worker_id="w1")
        (posted,) = slack.calls_to("chat.postMessage")
    (row,) = deliveries.list_rows(engine)
    blocks = posted["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    texts = json.dumps(blocks, ensure_ascii=False)
    more = re.search(r"<(\S+?)\|… and 6 more matching papers not shown: see them all", texts)
    assert more is not None
    link = more.group(1).replace("&amp;", "&")
    assert urlsplit(link).path == f"/digest/{row.id}"
    assert f"<{more.group(1)}|Open in your browser>" in texts
    assert re.search(r"/digests\?token=[^|]+\|Past digests>", texts)
    assert len(listed(engine, settings, link)) == 8

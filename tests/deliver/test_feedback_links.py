"""A digest email as sent, end to end: its feedback links, followed and pressed against
the real app, record the reader's verdict on that paper (and a scanner's GET does not)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from alertbot.deliver import build_channels, queue_due, send_due
from alertbot.model import Paper
from alertbot.schedule.health import HealthState
from alertbot.store.feedback import get_feedback
from alertbot.web.app import create_app
from alertbot.web.feedback import feedback_routes
from tests.helpers.delivery import NOW, make_settings
from tests.servers import smtp_server


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """Links do not depend on the database: SQLite only here."""
    return sqlite_engine


def test_the_links_in_a_sent_digest_record_feedback_on_their_paper(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Each paper of the text part has a Useful and a Not useful link; GET changes
    nothing, POST on the first paper's Useful link records exactly that."""
    papers = stock()
    reader = subscribe("Reader", "reader@example.org")
    with smtp_server(tmp_dir=str(tmp_path)) as sink:
        settings = make_settings(tmp_path, host=sink.host, port=sink.port, security="none")
        queue_due(engine, settings, now=NOW)
        send_due(engine, settings, now=lambda: NOW, channels=build_channels(settings))
        (msg,) = sink.wait_for(1)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    useful = re.findall(r"^\s+Useful: (\S+)", text, re.M)
    not_useful = re.findall(r"^\s+Not useful: (\S+)", text, re.M)
    shown = [p for p in papers if p.title in text]
    assert len(useful) == len(not_useful) == len(shown) > 0
    app = create_app(
        engine,
        settings,
        now=lambda: NOW,
        health=HealthState(started_at=NOW),
        routes=feedback_routes(engine, settings, now=lambda: NOW),
    )
    first = urlsplit(useful[0])
    assert f"{first.scheme}://{first.netloc}" == settings.web.public_url
    with TestClient(app) as http:
        page = http.get(f"{first.path}?{first.query}")
        assert page.status_code == 200
        assert get_feedback(engine, reader.id) == {}
        assert http.post(f"{first.path}?{first.query}").status_code == 200
    (paper_id,) = get_feedback(engine, reader.id)
    assert paper_id in {p.id for p in shown}
    assert next(p.title for p in shown if p.id == paper_id) in page.text
    assert get_feedback(engine, reader.id) == {paper_id: "useful"}

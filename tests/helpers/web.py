"""The account pages under test: the service app (every route ``alertbot run`` serves)
on a real SQLite file, its emails going to a real aiosmtpd sink, and a browser-like
client that fills in forms the way a person's browser does (CSRF field included)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from alertbot.config import Settings
from alertbot.model import Paper, Subscriber
from alertbot.samples import sample_dump_paths
from alertbot.sources import load_papers
from alertbot.store.papers import upsert_papers
from alertbot.store.schema import metadata
from alertbot.subscribers import SubscriberService
from tests.helpers.browser import service_app
from tests.helpers.slack import Clock, make_settings
from tests.servers import SmtpSink, smtp_server

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r"(https?://\S+/(?:confirm|signin/link)\?token=\S+)")


def snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, as text: equal snapshots mean nothing changed."""
    with engine.connect() as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for table in metadata.sorted_tables
        }


def link_in(message: EmailMessage) -> str:
    """The confirmation or sign-in link of an email alertbot sent."""
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found is not None, body.get_content()
    return found.group(1)


def local(url: str) -> str:
    """``url``'s path and query: what the test client asks for."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Accounts:
    """The app, its store, its clock and its mail sink, and a client with cookies."""

    engine: Engine
    settings: Settings
    clock: Clock
    sink: SmtpSink
    http: TestClient

    @property
    def service(self) -> SubscriberService:
        return SubscriberService(self.engine, self.settings, now=self.clock)

    def csrf(self, path: str = "/signin") -> str:
        """The CSRF field of the forms on ``path`` (fetching it also sets the cookie)."""
        page = self.http.get(path)
        found = CSRF.search(page.text)
        assert found is not None, f"no form on {path}"
        return unescape(found.group(1))

    def post(
        self, path: str, data: dict[str, Any], *, csrf_from: str = "/signin"
    ) -> httpx2.Response:
        """Submit a form on the page ``csrf_from`` to ``path``, as a browser does."""
        response: httpx2.Response = self.http.post(
            path, data={"csrf": self.csrf(csrf_from), **data}, follow_redirects=False
        )
        return response

    def sessions_csrf_for(self, browser_secret: str) -> str:
        """A valid CSRF field for *another* browser (whose CSRF cookie is ``browser_secret``)."""
        from alertbot.links import signer_for

        return signer_for(self.settings).csrf_token(browser_secret)

    def mails(self, count: int) -> list[EmailMessage]:
        return self.sink.wait_for(count)

    def sign_up(self, address: str = "ada@example.org", interest: str = "diffusion") -> Subscriber:
        """Sign up on the page and confirm from the email; returns the new subscriber."""
        before = len(self.sink.messages)
        response = self.post(
            "/signup",
            {
                "email": address,
                "interest": interest,
                "timezone": "Europe/Paris",
                "send_time": "07:30",
            },
            csrf_from="/signup",
        )
        assert response.status_code == 303, response.text
        link = local(link_in(self.mails(before + 1)[before]))
        # /confirm is the Slack flow's page: a token-bound button, no session to protect.
        assert self.http.post(link).status_code == 200
        owner = self.service.email_owner(address)
        assert owner is not None
        found = self.service.get(owner[0])
        assert found is not None
        return found

    def sign_in(self, address: str = "ada@example.org") -> httpx2.Response:
        """Ask for a link, open it and press the button; returns the button's answer."""
        before = len(self.sink.messages)
        assert self.post("/signin", {"email": address}).status_code == 303
        link = local(link_in(self.mails(before + 1)[before]))
        return self.post(link, {}, csrf_from=link)


def store_sample_papers(engine: Engine, now: datetime) -> list[Paper]:
    """The bundled real listing (42 Hugging Face papers), stored a day before ``now``."""
    dump = next(p for p in sample_dump_paths() if p.name == "hf-papers-blocks.txt")
    papers = load_papers(str(dump), format="auto", now=now)
    upsert_papers(engine, papers, source="hf", now=now - timedelta(days=1))
    return papers


@contextmanager
def accounts_app(engine: Engine, tmp_path: Path, **overrides: Any) -> Iterator[Accounts]:
    """The service app with a real SMTP sink for its emails (``overrides``: settings)."""
    with smtp_server() as sink:
        smtp = {"host": sink.host, "port": sink.port, "security": "none"}
        overrides["smtp"] = {**smtp, **overrides.get("smtp", {})}
        overrides.setdefault("slack", {"signing_secret": None})
        settings = make_settings(str(tmp_path / "data"), "http://127.0.0.1:9/api/", **overrides)
        clock = Clock()
        app = service_app(engine, settings, now=clock)
        # Secure cookies travel only over https: the client speaks what public_url says.
        scheme = urlsplit(settings.web.public_url).scheme
        with TestClient(app, base_url=f"{scheme}://testserver") as http:
            yield Accounts(engine, settings, clock, sink, http)

"""What the account pages share: the service, the sessions, the mail they send, and how a
page is answered (CSRF field in, cookie kept, strict headers).

Every page works without JavaScript: forms POST, and a POST that worked answers
``303 See Other`` to a page (so a reload does not post again); one that did not shows the
form again with the problem, and changes nothing. GET never changes the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from alertbot.config import Settings
from alertbot.deliver.confirm import send_confirmation, send_signin_link
from alertbot.logs import get_logger
from alertbot.store.outgoing_mail import MailLimits, MailPurpose, MailVerdict, reserve_mail
from alertbot.subscribers import SubscriberService
from alertbot.web.pages import Pages
from alertbot.web.preview import Previewer
from alertbot.web.session import Browser, CsrfRefused, Sessions, read_form

log = get_logger(__name__)


# Sends one emailed link: (settings, address, url, now); alertbot.deliver.confirm's senders.
LinkMailer = Callable[[Settings, str, str, datetime], None]


@dataclass
class Site:
    engine: Engine
    settings: Settings
    now: Callable[[], datetime]
    service: SubscriberService
    sessions: Sessions
    pages: Pages
    previewer: Previewer
    mail_limits: MailLimits
    send_confirmation: LinkMailer = send_confirmation
    send_signin: LinkMailer = send_signin_link

    @classmethod
    def build(
        cls,
        engine: Engine,
        settings: Settings,
        *,
        now: Callable[[], datetime],
        templates_dir: Path | None = None,
    ) -> Site:
        service = SubscriberService(engine, settings, now=now)
        return cls(
            engine=engine,
            settings=settings,
            now=now,
            service=service,
            sessions=Sessions(settings, service),
            pages=Pages(templates_dir),
            previewer=Previewer(engine, settings, now=now),
            mail_limits=MailLimits.from_settings(settings),
        )

    def page(self, browser: Browser, name: str, status: int = 200, **context: Any) -> Response:
        """Render ``name`` for ``browser``: its forms' CSRF field, who is signed in."""
        response = self.pages.site(
            name,
            status,
            csrf=self.sessions.csrf_field(browser),
            signed_in=browser.subscriber,
            mail_enabled=bool(self.settings.smtp.host),
            **context,
        )
        return self.sessions.keep_csrf(response, browser)

    def form(
        self, act: Callable[[Request, Browser, FormData], Response]
    ) -> Callable[[Request], Awaitable[Response]]:
        """A POST handler for a page's form: the form read, this browser's CSRF token
        checked (a 403 changing nothing otherwise), then ``act`` in the thread pool (it
        calls the blocking store)."""

        async def handler(request: Request) -> Response:
            form = await read_form(request)

            def checked() -> Response:
                browser = self.sessions.browser(request)
                try:
                    self.sessions.check_csrf(request, form)
                except CsrfRefused:
                    return self.forbidden(browser)
                return act(request, browser, form)

            return await run_in_threadpool(checked)

        return handler

    def forbidden(self, browser: Browser) -> Response:
        """The answer to a POST without this browser's CSRF token: nothing changed."""
        return self.page(browser, "forbidden.html", 403)

    def reserve(self, purpose: MailPurpose, address: str, requester: str) -> MailVerdict:
        """Count one emailed link to ``address`` asked by ``requester`` (the shared
        outgoing-mail limits, per address and per requester)."""
        return reserve_mail(
            self.engine,
            purpose,
            address=address,
            requester=requester,
            limits=self.mail_limits,
            now=self.now(),
        )

    def mail_later(self, sender: LinkMailer, address: str, url: str) -> BackgroundTask:
        """Send after the answer: the page must not take longer for an address that has
        an account than for one that has not (no enumeration by timing)."""

        def send() -> None:
            try:
                sender(self.settings, address, url, self.now())
            except Exception as exc:
                log.warning("web link email failed", error=exc.__class__.__name__)

        return BackgroundTask(send)


def client_of(request: Request) -> str:
    """The requester a signed-out form's emails are counted for: the client's address
    (behind a reverse proxy, uvicorn's ``--proxy-headers`` makes it the real one)."""
    return f"web:{request.client.host if request.client else 'unknown'}"


def see_other(path: str, background: BackgroundTask | None = None) -> Response:
    """The answer to a POST that worked: go (GET) to ``path``."""
    return RedirectResponse(path, status_code=303, background=background)

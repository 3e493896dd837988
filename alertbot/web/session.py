"""Who is signed in, and the CSRF token of every form.

The session is a signed cookie (:mod:`alertbot.tokens`, its own salt) holding the
subscriber's id and their session generation when it was issued; it is ``HttpOnly``,
``SameSite=Lax``, and ``Secure`` when ``web.public_url`` is https. Signing out or
unsubscribing moves the generation on in the store, which ends every session issued
before (:class:`alertbot.subscribers.SubscriberService`), so a copied cookie dies too.

CSRF: a random per-browser secret in its own cookie, and in every form that secret
signed with the key (double submit, signed). Another site can make the browser send
the cookie, but can neither read it nor sign a value of its own, so it cannot fill in
the field; every POST handler checks it before anything else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from alertbot.config import Settings
from alertbot.links import signer_for
from alertbot.model import Subscriber
from alertbot.subscribers import SubscriberService
from alertbot.tokens import SESSION_MAX_AGE_SECONDS, BadToken, Signer

SESSION_COOKIE = "alertbot_session"
CSRF_COOKIE = "alertbot_csrf"
CSRF_FIELD = "csrf"
MAX_COOKIE_CHARS = 500
MAX_FIELDS = 50
MAX_FIELD_BYTES = 16 * 1024


class CsrfRefused(Exception):
    """A POST without the form's CSRF token (or with another browser's)."""


@dataclass(frozen=True, slots=True)
class Browser:
    """What a request's cookies say: the CSRF secret (new if it had none) and the
    signed-in subscriber, if any."""

    csrf_secret: str
    new_csrf_secret: bool
    subscriber: Subscriber | None


class Sessions:
    """Reads and writes the session and CSRF cookies for one app."""

    def __init__(self, settings: Settings, service: SubscriberService) -> None:
        self.signer: Signer = signer_for(settings)
        self.service = service
        self.secure = settings.web.public_url.lower().startswith("https://")

    # -- reading ------------------------------------------------------------------------

    def browser(self, request: Request) -> Browser:
        """The request's browser (blocking: reads the store; call in a thread)."""
        secret = request.cookies.get(CSRF_COOKIE, "")
        fresh = not (0 < len(secret) <= MAX_COOKIE_CHARS)
        if fresh:
            secret = secrets.token_urlsafe(32)
        return Browser(secret, fresh, self.subscriber(request))

    def subscriber(self, request: Request) -> Subscriber | None:
        """The signed-in subscriber, or None: no cookie, a forged or expired one, or one
        from a generation that sign-out or unsubscribe has ended."""
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token or len(token) > MAX_COOKIE_CHARS:
            return None
        try:
            claim = self.signer.read_session(token)
        except BadToken:
            return None
        if claim.generation != self.service.session_generation(claim.subscriber_id):
            return None
        return self.service.get(claim.subscriber_id)

    def csrf_field(self, browser: Browser) -> str:
        """The value of the hidden ``csrf`` field of this browser's forms."""
        return self.signer.csrf_token(browser.csrf_secret)

    def check_csrf(self, request: Request, form: FormData) -> None:
        """Raise :class:`CsrfRefused` unless the form carries this browser's token."""
        field = form.get(CSRF_FIELD)
        secret = request.cookies.get(CSRF_COOKIE, "")
        if not isinstance(field, str) or not self.signer.check_csrf(field, secret):
            raise CsrfRefused

    # -- writing ------------------------------------------------------------------------

    def keep_csrf(self, response: Response, browser: Browser) -> Response:
        """Give a browser that had no CSRF secret the one its page's forms were signed for."""
        if browser.new_csrf_secret:
            response.set_cookie(
                CSRF_COOKIE,
                browser.csrf_secret,
                max_age=SESSION_MAX_AGE_SECONDS,
                httponly=True,
                secure=self.secure,
                samesite="lax",
            )
        return response

    def sign_in(self, response: Response, subscriber_id: int) -> Response:
        """Set the session cookie for ``subscriber_id`` (blocking: reads the generation)."""
        generation = self.service.session_generation(subscriber_id)
        response.set_cookie(
            SESSION_COOKIE,
            self.signer.session_token(subscriber_id, generation),
            max_age=SESSION_MAX_AGE_SECONDS,
            httponly=True,
            secure=self.secure,
            samesite="lax",
        )
        return response

    def forget(self, response: Response) -> Response:
        """Drop the session cookie (the generation has moved on already)."""
        response.delete_cookie(SESSION_COOKIE, httponly=True, secure=self.secure, samesite="lax")
        return response


async def read_form(request: Request) -> FormData:
    """The POSTed form, bounded (no files); an unreadable body reads as an empty form,
    which every handler then refuses for its missing CSRF field."""
    try:
        return await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES)
    except Exception:
        return FormData()

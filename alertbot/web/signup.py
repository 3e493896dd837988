"""Signing up by email: an address, a first interest, a time zone and a send time.

Double opt-in through the confirmation email that ``/subscribe email`` sends: the
subscriber is stored with the address off until its link (``/confirm``) is opened. An
address that already has an account gets a sign-in link instead, and the page says
the same either way (no enumeration); the email is reserved against the outgoing-mail
limits first, and sent after the answer. A refused interest is shown at its column.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertbot import validate
from alertbot.links import confirm_url, signin_url
from alertbot.logs import get_logger
from alertbot.store.outgoing_mail import MailPurpose
from alertbot.subscribers import AddressTaken, QueryRefused, Refused
from alertbot.web.session import Browser
from alertbot.web.site import Site, client_of, see_other

log = get_logger(__name__)


def _typed(form: FormData, name: str, limit: int = 600) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def signup_routes(site: Site) -> list[BaseRoute]:
    """``GET/POST /signup``."""
    default_time = site.settings.subscribe.default_send_time

    def form_context(**typed: str) -> dict[str, Any]:
        values = {"email": "", "interest": "", "timezone": "UTC", "send_time": default_time}
        values.update(typed)
        return {"values": values, "error": "", "query_error": None}

    def signup_page(request: Request) -> Response:
        return site.page(site.sessions.browser(request), "signup.html", **form_context())

    def signup(request: Request, browser: Browser, form: FormData) -> Response:
        context = form_context(
            email=_typed(form, "email", 320),
            interest=_typed(form, "interest"),
            timezone=_typed(form, "timezone", 64) or "UTC",
            send_time=_typed(form, "send_time", 16),
        )
        values = context["values"]
        try:
            address = validate.email(values["email"])
            send_time = validate.send_time(values["send_time"])
            timezone = validate.timezone(values["timezone"])
            interest = site.service.check_query("interest", values["interest"])
            if not interest:
                raise ValueError("give a first interest, for example: diffusion models")
        except QueryRefused as exc:
            context["query_error"] = exc.error
            return site.page(browser, "signup.html", 400, **context)
        except ValueError as exc:
            context["error"] = str(exc)
            return site.page(browser, "signup.html", 400, **context)
        verdict = site.reserve(MailPurpose.CONFIRM_EMAIL, address, client_of(request))
        if not verdict.allowed:
            return site.page(browser, "limited.html", 429, retry_at=verdict.retry_at)
        owner = site.service.email_owner(address)
        if owner is not None:
            # Known already: the same answer, and a way in for the real owner.
            url = signin_url(site.settings, *owner)
            return see_other("/check-email", site.mail_later(site.send_signin, address, url))
        try:
            sub, endpoint = site.service.sign_up(
                address, interest, timezone=timezone, send_time=send_time
            )
        except AddressTaken as exc:  # signed up meanwhile (a double click): as known above
            url = signin_url(site.settings, *exc.owner)
            return see_other("/check-email", site.mail_later(site.send_signin, address, url))
        except QueryRefused as exc:
            context["query_error"] = exc.error
            return site.page(browser, "signup.html", 400, **context)
        except Refused as exc:
            context["error"] = str(exc)
            return site.page(browser, "signup.html", 400, **context)
        log.info("signed up on the web", subscriber_id=sub.id, endpoint_id=endpoint.id)
        url = confirm_url(site.settings, sub.id, endpoint.id, endpoint.address)
        return see_other(
            "/check-email", site.mail_later(site.send_confirmation, endpoint.address, url)
        )

    return [
        Route("/signup", signup_page, methods=["GET"]),
        Route("/signup", site.form(signup), methods=["POST"]),
    ]

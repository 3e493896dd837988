"""Signing in by emailed link, and signing out.

``POST /signin`` with an address answers the same page whether or not the address has
an account (no enumeration): the link is reserved against the outgoing-mail limits
before the address is even looked up, and it is mailed after the answer. The link
(:func:`alertbot.links.signin_url`) is signed, bound to one subscriber and address,
short-lived and single use; ``GET`` on it only shows a button (mail scanners follow
links), and ``POST`` spends it and sets the session cookie. ``POST /signout`` ends every
session of the subscriber.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertbot import validate
from alertbot.links import signin_url
from alertbot.logs import get_logger
from alertbot.model import EndpointKind
from alertbot.store.outgoing_mail import MailPurpose
from alertbot.tokens import BadToken, SigninClaim
from alertbot.web.pages import MAX_TOKEN_CHARS
from alertbot.web.session import Browser
from alertbot.web.site import Site, client_of, see_other

log = get_logger(__name__)

LINK_REFUSED = "This sign-in link is not valid, has expired or was used already."


def signin_routes(site: Site) -> list[BaseRoute]:
    """``GET/POST /signin``, ``GET/POST /signin/link``, ``GET /check-email``,
    ``POST /signout``."""

    def token_of(request: Request) -> str:
        token = request.query_params.get("token", "")
        return token if len(token) <= MAX_TOKEN_CHARS else ""

    def link_claim(token: str) -> SigninClaim | None:
        try:
            claim = site.sessions.signer.read_signin(token)
        except BadToken:
            return None
        endpoint = site.service.endpoint(claim.endpoint_id)
        if (
            endpoint is None
            or endpoint.subscriber_id != claim.subscriber_id
            or endpoint.kind != EndpointKind.EMAIL
        ):
            return None
        return claim

    def signin_page(request: Request) -> Response:
        browser = site.sessions.browser(request)
        return site.page(browser, "signin.html", address="", error="")

    def signin(request: Request, browser: Browser, form: FormData) -> Response:
        typed = str(form.get("email", ""))[:320]
        try:
            address = validate.email(typed)
        except ValueError as exc:
            return site.page(browser, "signin.html", 400, address=typed, error=str(exc))
        verdict = site.reserve(MailPurpose.SIGN_IN_LINK, address, client_of(request))
        if not verdict.allowed:
            return site.page(browser, "limited.html", 429, retry_at=verdict.retry_at)
        owner = site.service.email_owner(address)
        if owner is None:
            return see_other("/check-email")
        url = signin_url(site.settings, *owner)
        log.info("sign-in link requested", subscriber_id=owner[0])
        return see_other("/check-email", site.mail_later(site.send_signin, address, url))

    def check_email(request: Request) -> Response:
        return site.page(site.sessions.browser(request), "check_email.html")

    def link_page(request: Request) -> Response:
        browser = site.sessions.browser(request)
        token = token_of(request)
        claim = link_claim(token)
        if claim is None or site.service.signin_link_used(claim.link_id):
            return site.page(browser, "refused_site.html", 400, message=LINK_REFUSED)
        return site.page(browser, "signin_link.html", token=token)

    def use_link(request: Request, browser: Browser, form: FormData) -> Response:
        claim = link_claim(token_of(request))
        if claim is None or not site.service.use_signin_link(claim.link_id):
            return site.page(browser, "refused_site.html", 400, message=LINK_REFUSED)
        log.info("signed in", subscriber_id=claim.subscriber_id)
        return site.sessions.sign_in(see_other("/account"), claim.subscriber_id)

    def signout(request: Request, browser: Browser, form: FormData) -> Response:
        if browser.subscriber is not None:
            site.service.end_sessions(browser.subscriber.id)
            log.info("signed out", subscriber_id=browser.subscriber.id)
        return site.sessions.forget(see_other("/signed-out"))

    def signed_out(request: Request) -> Response:
        return site.page(site.sessions.browser(request), "signed_out.html")

    # One route per method: the handlers that act are unreachable by GET or HEAD.
    return [
        Route("/signin", signin_page, methods=["GET"]),
        Route("/signin", site.form(signin), methods=["POST"]),
        Route("/check-email", check_email, methods=["GET"]),
        Route("/signin/link", link_page, methods=["GET"]),
        Route("/signin/link", site.form(use_link), methods=["POST"]),
        Route("/signout", site.form(signout), methods=["POST"]),
        Route("/signed-out", signed_out, methods=["GET"]),
    ]

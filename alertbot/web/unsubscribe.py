"""One-click unsubscribe (RFC 8058) and email confirmation links.

``GET`` (and ``HEAD``, which Starlette answers with the GET handler) only shows a page
with a button: mail scanners and link previewers follow links with either, so neither
ever changes anything; the handlers that act are routed for ``POST`` alone. ``POST``
with ``List-Unsubscribe=One-Click`` (what a mail provider sends, form-encoded or
multipart) acts at once and answers 200
with no redirect and no cookie. Tokens are signed (:mod:`alertbot.tokens`) and bound to
one subscriber and one endpoint; a forged, altered or mismatched token gets a 400 and
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertbot.config import Settings
from alertbot.links import signer_for
from alertbot.logs import get_logger
from alertbot.model import Endpoint, EndpointKind
from alertbot.subscribers import UNSUBSCRIBED, SubscriberService
from alertbot.tokens import BadToken
from alertbot.web.pages import MAX_TOKEN_CHARS, Pages

log = get_logger(__name__)

ONE_CLICK = "One-Click"
CONFIRM_REFUSED = "This confirmation link is not valid or has expired."


def _owned_endpoint(
    service: SubscriberService, endpoint_id: int, subscriber_id: int
) -> Endpoint | None:
    endpoint = service.endpoint(endpoint_id)
    if endpoint is None or endpoint.subscriber_id != subscriber_id:
        return None
    return endpoint


async def _one_click(request: Request) -> bool:
    """The POST carries ``List-Unsubscribe=One-Click`` (form-encoded or multipart)."""
    try:
        async with request.form(max_files=0, max_fields=20, max_part_size=64 * 1024) as form:
            return form.get("List-Unsubscribe") == ONE_CLICK
    except Exception:  # a malformed body is a refusal, never a 500
        log.info("unsubscribe post with an unreadable body")
        return False


def unsubscribe_routes(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    templates_dir: Path | None = None,
) -> list[BaseRoute]:
    """``GET/POST /unsubscribe`` and ``GET/POST /confirm``."""
    pages = Pages(templates_dir)
    signer = signer_for(settings)
    service = SubscriberService(engine, settings, now=now)

    def token_of(request: Request) -> str:
        token = request.query_params.get("token", "")
        return token if len(token) <= MAX_TOKEN_CHARS else ""

    def unsubscribe_target(token: str) -> Endpoint | None:
        try:
            claim = signer.read_unsubscribe(token)
        except BadToken:
            return None
        return _owned_endpoint(service, claim.endpoint_id, claim.subscriber_id)

    async def unsubscribe_page(request: Request) -> Response:
        token = token_of(request)
        endpoint = await run_in_threadpool(unsubscribe_target, token)
        if endpoint is None:
            return pages.refused("This unsubscribe link is not valid.")
        return pages.render("unsubscribe.html", token=token, address=endpoint.address)

    async def unsubscribe(request: Request) -> Response:
        endpoint = await run_in_threadpool(unsubscribe_target, token_of(request))
        if endpoint is None:
            return pages.refused("This unsubscribe link is not valid.")
        if not await _one_click(request):
            return pages.refused("The request did not say List-Unsubscribe=One-Click.")
        await run_in_threadpool(service.turn_off, endpoint.id, UNSUBSCRIBED)
        log.info(
            "unsubscribed",
            subscriber_id=endpoint.subscriber_id,
            endpoint_id=endpoint.id,
        )
        return pages.render("unsubscribed.html", address=endpoint.address)

    def confirm_target(token: str) -> Endpoint | None:
        try:
            claim = signer.read_confirm(token)
        except BadToken:
            return None
        endpoint = _owned_endpoint(service, claim.endpoint_id, claim.subscriber_id)
        if endpoint is None or endpoint.kind != EndpointKind.EMAIL:
            return None
        # Bound to the address too: an endpoint re-pointed elsewhere is not confirmed by it.
        return endpoint if endpoint.address == claim.email else None

    async def confirm_page(request: Request) -> Response:
        token = token_of(request)
        endpoint = await run_in_threadpool(confirm_target, token)
        if endpoint is None:
            return pages.refused(CONFIRM_REFUSED)
        return pages.render("confirm.html", token=token, address=endpoint.address)

    async def confirm(request: Request) -> Response:
        endpoint = await run_in_threadpool(confirm_target, token_of(request))
        if endpoint is None:
            return pages.refused(CONFIRM_REFUSED)
        await run_in_threadpool(service.confirm_email, endpoint.id)
        log.info(
            "email confirmed",
            subscriber_id=endpoint.subscriber_id,
            endpoint_id=endpoint.id,
        )
        return pages.render("confirmed.html", address=endpoint.address)

    # One route per method: the handlers that act are unreachable by GET or HEAD.
    return [
        Route("/unsubscribe", unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe", unsubscribe, methods=["POST"]),
        Route("/confirm", confirm_page, methods=["GET"]),
        Route("/confirm", confirm, methods=["POST"]),
    ]

"""Accepting a query suggestion from email: the link beside each suggestion of a digest.

``GET /suggestion?token=...`` shows the suggestion and one button, and changes nothing:
mail scanners follow every link in a message. ``POST`` (the button) adds it to the
reader's profile through :meth:`SubscriberService.accept_suggestion`, so it is parsed,
capped and refused when already there like any interest; pressing twice adds it once.
The token is signed and bound to one subscriber, kind and query
(:mod:`alertbot.tokens`); a forged or altered one, or one for a subscriber who no longer
exists, gets a 400 and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertbot.config import Settings
from alertbot.links import signer_for
from alertbot.logs import get_logger
from alertbot.model import Subscriber, SuggestionKind
from alertbot.subscribers import AlreadyThere, Refused, SubscriberService
from alertbot.tokens import BadToken, SuggestionClaim
from alertbot.web.pages import MAX_TOKEN_CHARS, Pages

log = get_logger(__name__)


def suggestion_routes(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    templates_dir: Path | None = None,
) -> list[BaseRoute]:
    """``GET/POST /suggestion``."""
    pages = Pages(templates_dir)
    signer = signer_for(settings)
    service = SubscriberService(engine, settings, now=now)

    def target(token: str) -> tuple[SuggestionClaim, Subscriber] | None:
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            claim = signer.read_suggestion(token)
        except BadToken:
            return None
        sub = service.get(claim.subscriber_id)
        return (claim, sub) if sub is not None else None

    def accept(claim: SuggestionClaim, sub: Subscriber) -> str | None:
        """None when added (or there already), else why not."""
        try:
            kind: SuggestionKind = "interest" if claim.kind == "interest" else "exclusion"
            service.accept_suggestion(sub, kind, claim.query)
        except AlreadyThere:
            return None
        except Refused as exc:
            return str(exc)
        log.info("suggestion accepted", subscriber_id=sub.id, kind=claim.kind, channel="email")
        return None

    async def suggestion(request: Request) -> Response:
        token = request.query_params.get("token", "")
        found = await run_in_threadpool(target, token)
        if found is None:
            return pages.refused("This suggestion link is not valid.")
        claim, sub = found
        context: dict[str, Any] = {"kind": claim.kind, "query": claim.query, "token": token}
        if request.method == "GET":
            return pages.render("suggestion.html", **context)
        problem = await run_in_threadpool(accept, claim, sub)
        if problem is not None:
            return pages.refused(f"This suggestion could not be added: {problem}.")
        return pages.render("suggestion_accepted.html", **context)

    return [Route("/suggestion", suggestion, methods=["GET", "POST"])]

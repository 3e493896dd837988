"""Feedback from email: the "useful" / "not useful" links under each paper of a digest.

``GET /feedback?token=...`` shows the paper and one button, and records nothing: mail
scanners and link previewers follow every link in a message, and must not vote for the
reader. ``POST`` (the button) records the verdict the token names, once: the same
verdict again (a double click, the page reloaded) changes nothing, and a different
one replaces it, whichever channel gave the first (:mod:`alertbot.store.feedback`).
The token is signed and bound to one subscriber, one paper and one verdict
(:mod:`alertbot.tokens`); a forged or altered one, or one for a subscriber or paper that
no longer exists, gets a 400 and changes nothing.
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
from alertbot.links import feedback_url, signer_for
from alertbot.logs import get_logger
from alertbot.model import FeedbackValue, Paper
from alertbot.store import subscribers as store
from alertbot.store.feedback import record_feedback
from alertbot.store.papers import get_papers
from alertbot.tokens import BadToken, FeedbackClaim
from alertbot.web.pages import MAX_TOKEN_CHARS, Pages

log = get_logger(__name__)


def feedback_routes(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    templates_dir: Path | None = None,
) -> list[BaseRoute]:
    """``GET/POST /feedback``."""
    pages = Pages(templates_dir)
    signer = signer_for(settings)

    def target(token: str) -> tuple[FeedbackClaim, Paper] | None:
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            claim = signer.read_feedback(token)
        except BadToken:
            return None
        if store.get_subscriber(engine, claim.subscriber_id) is None:
            return None
        found = get_papers(engine, [claim.paper_id]).get(claim.paper_id)
        return (claim, found.paper) if found is not None else None

    async def feedback(request: Request) -> Response:
        token = request.query_params.get("token", "")
        found = await run_in_threadpool(target, token)
        if found is None:
            return pages.refused("This feedback link is not valid.")
        claim, paper = found
        other: FeedbackValue = "not_useful" if claim.value == "useful" else "useful"
        context: dict[str, Any] = {
            "title": paper.title,
            "value": claim.value,
            "token": token,
            "other_url": feedback_url(settings, claim.subscriber_id, paper.id, other),
        }
        if request.method == "GET":
            return pages.render("feedback.html", **context)
        changed = await run_in_threadpool(
            record_feedback,
            engine,
            claim.subscriber_id,
            paper.id,
            claim.value,
            now=now(),
            channel="email",
        )
        if changed:
            log.info(
                "feedback",
                subscriber_id=claim.subscriber_id,
                paper=paper.id,
                value=claim.value,
                channel="email",
            )
        return pages.render("feedback_recorded.html", **context)

    return [Route("/feedback", feedback, methods=["GET", "POST"])]

"""The whole digest on the web: ``/digest/<id>`` lists every match of one queued digest
(the papers its message showed, then those its cap left out), ``/digests`` the reader's
past digests, and ``POST /digest/<id>/feedback`` records "useful" / "not useful".

What a page shows is what was stored when the digest was queued (the outbox row's
matches and the bare rest, :mod:`alertbot.store.outbox`), nothing matched again; the
papers stored bare get their highlights worked out here (``Explainer``), for the
page being opened only. Each paper is laid out as the email lays it out (the same view,
``render.email.paper_view``, and the same style sheet). A digest the learned ranking
ordered says so, and the papers its message showed carry the reasons stored with them
(:mod:`alertbot.store.learned`); those beyond the cap, in the same learned order, have
none, since the row keeps only the shown papers' reasons.

Access is :mod:`alertbot.web.access` (a signed link, or the session). GET never records
anything (mail scanners follow links): feedback is a POST form carrying a CSRF token
signed for the reader; with JavaScript the page's small script posts it in the
background (JSON answer), without it the POST answers with a redirect back to the page.
The same verdict twice is stored once (:mod:`alertbot.store.feedback`).

Pages stay under :data:`MAX_PAGE_BYTES` with their CSS and script: at most
:data:`PER_PAGE` papers a page, abstracts shortened in the email's steps if needed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from alertbot.config import Settings
from alertbot.links import signer_for
from alertbot.logs import get_logger
from alertbot.match import Explainer
from alertbot.model import (
    FEEDBACK_VALUES,
    DigestItem,
    EndpointKind,
    FeedbackValue,
    Match,
    OutboxState,
    RankReason,
)
from alertbot.render import environment
from alertbot.render.email import ABSTRACT_STEPS, paper_view
from alertbot.render.parts import LEARNED_NOTE, day_label, one_line
from alertbot.store import archive, learned
from alertbot.store import subscribers as subscriber_store
from alertbot.store.feedback import get_feedback, record_feedback
from alertbot.store.outbox import OutboxRow
from alertbot.store.papers import get_papers
from alertbot.subscribers import SubscriberService
from alertbot.tex import display
from alertbot.tokens import BadToken
from alertbot.web.access import DigestAccess, SessionReader
from alertbot.web.headers import page_headers
from alertbot.web.session import Sessions

log = get_logger(__name__)

MAX_PAGE_BYTES = 100_000  # the page with its inline CSS and script
PER_PAGE = 50  # papers per digest page
ARCHIVE_PAGE = 20  # digests per archive page
REFUSED = "This link does not open that page."
PRUNED = (
    "This digest is older than the {days} days alertbot keeps digests;"
    " your archive has the newer ones."
)
CHANNELS = {
    EndpointKind.EMAIL: "email",
    EndpointKind.SLACK_USER: "Slack",
    EndpointKind.SLACK_CHANNEL: "Slack",
    EndpointKind.FILE: "file",
}

# What the pages say of a digest not (yet) delivered ("this digest ...").
NOTES = {
    OutboxState.PENDING: "is being sent",
    OutboxState.SENDING: "is being sent",
    OutboxState.FAILED: "is being retried",
    OutboxState.UNKNOWN: "may not have arrived",
    OutboxState.DEAD: "was not delivered",
}


@functools.lru_cache(maxsize=4)
def _templates(templates_dir: Path | None) -> jinja2.Environment:
    # Over the whole templates folder: the page includes the email's style sheet.
    return environment(templates_dir)


@dataclass(frozen=True, slots=True)
class Shown:
    """One page of a digest: its items (each with its place among all the matches)."""

    row: OutboxRow
    items: list[tuple[int, DigestItem]]
    total: int  # every match the row keeps
    shown_in_message: int
    missing: int  # matches whose paper is no longer stored
    page: int
    pages: int


def digest_routes(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    session: SessionReader | None = None,
    templates_dir: Path | None = None,
) -> list[BaseRoute]:
    """``GET /digest/<id>``, ``POST /digest/<id>/feedback`` and ``GET /digests``.

    ``session`` names the subscriber a request is signed in as; by default the account
    pages' session cookie (:mod:`alertbot.web.session`), so a signed-in reader needs no
    link.
    """
    env = _templates(templates_dir)
    signer = signer_for(settings)
    access = DigestAccess(signer, session or account_session(engine, settings, now=now))

    def render(name: str, status: int = 200, **context: Any) -> Response:
        html = env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=page_headers(html))

    def refused(status: int = 403, message: str = REFUSED) -> Response:
        return render("web/page_refused.html", status, message=message)

    def readable_row(request: Request, outbox_id: int) -> OutboxRow | None:
        row = archive.digest_row(engine, outbox_id)
        if row is None or not access.may_read(request, row.subscriber_id, row.id):
            return None
        if subscriber_store.get_subscriber(engine, row.subscriber_id) is None:
            return None
        return row

    def pruned(request: Request, outbox_id: int) -> bool:
        """The request's own link names this digest of a reader who still exists, but
        the row is gone: a link is only ever signed for a row, so the cleanup job
        deleted it (``retention.digest_days``)."""
        reader = access.link_reader(request, outbox_id)
        return (
            reader is not None
            and archive.digest_row(engine, outbox_id) is None
            and subscriber_store.get_subscriber(engine, reader) is not None
        )

    async def unreadable(request: Request, outbox_id: int) -> Response:
        if await run_in_threadpool(pruned, request, outbox_id):
            return refused(410, PRUNED.format(days=settings.retention.digest_days))
        return refused()

    def load(row: OutboxRow, page: int) -> Shown:
        matches: list[Match] = [*row.matches(), *row.rest()]
        reasons = _reasons(row)
        found = get_papers(engine, [m.paper_id for m in matches])
        kept = [(n, m) for n, m in enumerate(matches, 1) if m.paper_id in found]
        pages = max((len(kept) + PER_PAGE - 1) // PER_PAGE, 1)
        page = min(max(page, 1), pages)
        items = []
        explain = Explainer()
        for n, match in kept[(page - 1) * PER_PAGE : page * PER_PAGE]:
            paper = found[match.paper_id].paper
            # What is stored bare (the rest, and a keyword digest's own papers) has its
            # highlights worked out for this page only.
            if n <= len(row.paper_ids):
                shown = explain(match, paper) if row.matches_bare else match
                items.append((n, DigestItem(paper, shown, reasons[n - 1])))
            else:
                items.append((n, DigestItem(paper, explain(match, paper))))
        return Shown(
            row, items, len(matches), len(row.paper_ids), len(matches) - len(kept), page, pages
        )

    def digest_context(request: Request, shown: Shown) -> dict[str, Any]:
        row = shown.row
        token = access.token(request)
        verdicts = get_feedback(engine, row.subscriber_id)
        return {
            "day": day_label(row.digest_date),
            "row": row,
            "shown": shown,
            "channel": CHANNELS.get(row.kind, row.kind.value),
            "note": NOTES.get(row.state, ""),
            "learned_note": LEARNED_NOTE if row.learning_json is not None else "",
            "more_than_kept": row.more - (shown.total - shown.shown_in_message),
            "verdicts": verdicts,
            "csrf": signer.page_form_token(row.subscriber_id),
            "action": _with_token(f"/digest/{row.id}/feedback", token),
            "page_url": lambda n: _with_token(f"/digest/{row.id}", token, page=n),
            "archive_url": _archive_link(signer.archive_token(row.subscriber_id), request, access),
            "anchor": _anchor,
        }

    def page_html(request: Request, shown: Shown) -> Response:
        context = digest_context(request, shown)
        html = ""
        for chars in ABSTRACT_STEPS:
            papers = [(n, item, paper_view(item, chars, None)) for n, item in shown.items]
            html = env.get_template("web/digest.html").render(**context, papers=papers)
            if len(html.encode("utf-8")) <= MAX_PAGE_BYTES:
                break
        return HTMLResponse(html, headers=page_headers(html))

    async def digest_page(request: Request) -> Response:
        outbox_id = int(request.path_params["outbox_id"])
        row = await run_in_threadpool(readable_row, request, outbox_id)
        if row is None:
            return await unreadable(request, outbox_id)
        shown = await run_in_threadpool(load, row, _int(request.query_params.get("page"), 1))
        return await run_in_threadpool(page_html, request, shown)

    async def feedback(request: Request) -> Response:
        outbox_id = int(request.path_params["outbox_id"])
        row = await run_in_threadpool(readable_row, request, outbox_id)
        if row is None:
            return await unreadable(request, outbox_id)
        form = await _form(request)
        paper_id, value = form.get("paper", ""), form.get("value", "")
        try:
            if signer.read_page_form(form.get("csrf", "")) != row.subscriber_id:
                raise BadToken("another reader's form")
        except BadToken:
            return refused(403, "This form has expired or is not yours: reload the page.")
        in_digest = {m.paper_id for m in (*row.matches(), *row.rest())}
        if paper_id not in in_digest or value not in FEEDBACK_VALUES:
            return refused(400, "That paper is not in this digest.")
        verdict: FeedbackValue = "useful" if value == "useful" else "not_useful"
        changed = await run_in_threadpool(
            record_feedback,
            engine,
            row.subscriber_id,
            paper_id,
            verdict,
            now=now(),
            channel="web",
        )
        if changed:
            log.info(
                "feedback",
                subscriber_id=row.subscriber_id,
                paper=paper_id,
                value=verdict,
                channel="web",
            )
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"paper": paper_id, "value": verdict, "changed": changed})
        back = _with_token(f"/digest/{row.id}", access.token(request), page=form.get("page"))
        return RedirectResponse(back + "#p-" + _anchor(paper_id), status_code=303)

    def archive_page(request: Request) -> Response:
        reader = access.archive_reader(request)
        subscriber = subscriber_store.get_subscriber(engine, reader) if reader is not None else None
        if subscriber is None:
            return refused()
        before = _cursor(request.query_params.get("before", ""))
        rows = archive.reader_rows(engine, subscriber.id, limit=ARCHIVE_PAGE + 1, before=before)
        more, rows = len(rows) > ARCHIVE_PAGE, rows[:ARCHIVE_PAGE]
        tops = get_papers(engine, [r.paper_ids[0] for r in rows if r.paper_ids])
        token = access.token(request)
        entries = [
            {
                "day": day_label(r.digest_date),
                "date": r.digest_date.isoformat(),
                "channel": CHANNELS.get(r.kind, r.kind.value),
                "papers": len(r.paper_ids) + r.more,
                "top": one_line(display(tops[r.paper_ids[0]].paper.title), 200)
                if r.paper_ids and r.paper_ids[0] in tops else "",
                "note": NOTES.get(r.state, ""),
                "url": _with_token(f"/digest/{r.id}", signer.digest_token(subscriber.id, r.id)),
            }
            for r in rows
        ]  # fmt: skip
        last = rows[-1] if rows else None
        next_url = (
            _with_token("/digests", token, before=f"{last.digest_date.isoformat()}.{last.id}")
            if more and last is not None
            else None
        )
        first_url = _with_token("/digests", token) if before is not None else None
        return render("web/digests.html", entries=entries, next_url=next_url, first_url=first_url)

    return [
        Route("/digest/{outbox_id:int}", digest_page, methods=["GET"]),
        Route("/digest/{outbox_id:int}/feedback", feedback, methods=["POST"]),
        Route("/digests", archive_page, methods=["GET"]),
    ]


def account_session(
    engine: Engine, settings: Settings, *, now: Callable[[], datetime]
) -> SessionReader:
    """The account pages' session as a :data:`SessionReader` (blocking: reads the store)."""
    sessions = Sessions(settings, SubscriberService(engine, settings, now=now))

    def signed_in(request: Request) -> int | None:
        subscriber = sessions.subscriber(request)
        return subscriber.id if subscriber is not None else None

    return signed_in


def _reasons(row: OutboxRow) -> Sequence[RankReason | None]:
    """The stored reason of each paper the message showed (the learned ranking's, none
    in keyword order). The papers beyond the cap have none: only the shown ones' reasons
    are kept on the row. A damaged column (the worker sends no such row) shows none."""
    try:
        return learned.reasons_for(row.learning(), len(row.paper_ids))
    except learned.StoredLearningError as exc:
        log.warning("stored learning unreadable", outbox_id=row.id, error=str(exc))
        return (None,) * len(row.paper_ids)


def _with_token(path: str, token: str, **params: object) -> str:
    """``path`` with the request's link token (none when signed in) and ``params``."""
    query = {"token": token} if token else {}
    query.update({k: str(v) for k, v in params.items() if v not in (None, "", 1, "1")})
    return path + ("?" + urlencode(query) if query else "")


def _archive_link(archive_token: str, request: Request, access: DigestAccess) -> str:
    # A signed-in reader needs no token; a link's reader gets the archive's own link
    # (the same the message's footer carries).
    return (
        "/digests"
        if access.session(request) is not None
        else _with_token("/digests", archive_token)
    )


def _anchor(paper_id: str) -> str:
    """An id attribute's value for a paper (ids are arXiv ids or hex, but be safe)."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in paper_id)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text and len(text) < 8 else default
    except ValueError:
        return default


def _cursor(text: str) -> tuple[date, int] | None:
    """``2026-03-02.123`` (the last row of the page before) as (date, id); else None."""
    day, _, row_id = text.partition(".")
    try:
        return date.fromisoformat(day), int(row_id)
    except ValueError:
        return None


async def _form(request: Request) -> dict[str, str]:
    """The POST's fields (a malformed body reads as no fields, never a 500)."""
    try:
        async with request.form(max_files=0, max_fields=20, max_part_size=16 * 1024) as form:
            return {k: v for k, v in form.items() if isinstance(v, str) and len(v) <= 2000}
    except Exception:
        log.info("page form with an unreadable body")
        return {}

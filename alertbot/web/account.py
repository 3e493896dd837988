"""``/account``: a signed-in subscriber's interests, exclusions, schedule, channels and
unsubscribe, with the live preview (:mod:`alertbot.web.preview`).

Every change goes through :class:`alertbot.subscribers.SubscriberService`, as
``/subscribe`` and the CLI do, so the same limits and refusals hold. A refused query is
shown at its column beside the field it came from, with the rest of the page as it was.
Without JavaScript, the "Preview" button of the add form is a GET of this page with the
draft (``?try=...``); with it, ``account.js`` asks ``/account/preview`` as you type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertbot import validate
from alertbot.links import confirm_url
from alertbot.logs import get_logger
from alertbot.match import QueryError
from alertbot.model import Frequency, Subscriber
from alertbot.store.outgoing_mail import MailPurpose
from alertbot.subscribers import QueryRefused, Refused
from alertbot.web.preview import draft_profile
from alertbot.web.session import Browser
from alertbot.web.site import Site, see_other

log = get_logger(__name__)

KINDS = ("interest", "exclusion")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# What a redirect after a change says on the page (?done=...): fixed words, no user text.
MAX_SUGGESTIONS = 5  # the strongest; the rest would bury the page's own forms
DONE = {
    "added": "Added.",
    "saved": "Saved.",
    "removed": "Removed.",
    "cleared": "Forgot every interest and exclusion.",
    "schedule": "Schedule saved.",
    "paused": "Paused: no digests until you resume.",
    "resumed": "Resumed.",
    "email": "Almost done: open the link we emailed to confirm the address.",
}


def _text(form: FormData, name: str, limit: int = 600) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def _position(form: FormData) -> int:
    try:
        return int(_text(form, "position", 6))
    except ValueError:
        return 0


def account_routes(site: Site) -> list[BaseRoute]:
    """``GET /account``, ``GET /account/preview`` and the account's ``POST`` forms."""

    def context(
        browser: Browser,
        sub: Subscriber,
        *,
        draft: tuple[str, str] | None = None,
        problem: dict[str, Any] | None = None,
        done: str = "",
    ) -> dict[str, Any]:
        profile = sub.profile
        if draft is not None and draft[1].strip():
            kind, query = draft
            interests = (*profile.interests, query) if kind == "interest" else profile.interests
            exclusions = (*profile.exclusions, query) if kind == "exclusion" else profile.exclusions
            profile = draft_profile(profile, interests, exclusions)
        return {
            "sub": sub,
            "preview": site.previewer.preview(sub, profile),
            "draft": draft or ("interest", ""),
            "problem": problem or {"where": ""},
            "done": DONE.get(done, ""),
            "days": DAYS,
            "frequencies": [f.value for f in Frequency],
            "slack_code": slack_code(sub),
            # One feedback query for a reader without verdicts (the corpus is not read).
            "suggestions": site.service.suggestions_for(sub.id)[:MAX_SUGGESTIONS],
        }

    slack = site.settings.slack
    slack_on = bool(slack.bot_token and (slack.signing_secret or slack.app_token))

    def slack_code(sub: Subscriber) -> str:
        """The ``/subscribe link`` code for a reader not linked to Slack yet ("" if
        linked, or if this alertbot has no Slack app)."""
        if not slack_on or sub.slack_user_id is not None:
            return ""
        return site.sessions.signer.slack_link_token(sub.id)

    def account_page(request: Request) -> Response:
        browser = site.sessions.browser(request)
        sub = browser.subscriber
        if sub is None:
            return see_other("/signin")
        params = request.query_params
        kind = params.get("kind", "interest")
        # The add form's "Preview" button (no JavaScript) GETs this page with its fields.
        typed = params.get("query", "")[:600] if "try-preview" in params else ""
        draft = (kind if kind in KINDS else "interest", typed)
        done = params.get("done", "")
        return site.page(browser, "account.html", **context(browser, sub, draft=draft, done=done))

    def preview_fragment(request: Request) -> Response:
        browser = site.sessions.browser(request)
        sub = browser.subscriber
        if sub is None:
            return Response("sign in first", status_code=401, media_type="text/plain")
        params = request.query_params
        profile = draft_profile(
            sub.profile,
            [q[:600] for q in params.getlist("interest")[:50]],
            [q[:600] for q in params.getlist("exclusion")[:50]],
        )
        preview = site.previewer.preview(sub, profile)
        return site.pages.site("preview.html", preview=preview)

    def acting(
        change: Callable[[Browser, Subscriber, FormData], Response],
    ) -> Callable[[Request], Any]:
        """A POST handler (:meth:`Site.form`) that also needs a signed-in subscriber."""

        def act(request: Request, browser: Browser, form: FormData) -> Response:
            if browser.subscriber is None:
                return see_other("/signin")
            return change(browser, browser.subscriber, form)

        return site.form(act)

    def refused(
        browser: Browser, sub: Subscriber, where: str, exc: Exception, draft: tuple[str, str]
    ) -> Response:
        error = exc.error if isinstance(exc, QueryRefused) else None
        problem = {
            "where": where,
            "message": error.message if isinstance(error, QueryError) else str(exc),
            "column": error.column if isinstance(error, QueryError) else None,
            "query": exc.query if isinstance(exc, QueryRefused) else "",
        }
        return site.page(
            browser, "account.html", 400, **context(browser, sub, draft=draft, problem=problem)
        )

    def add_query(browser: Browser, sub: Subscriber, form: FormData) -> Response:
        kind = _text(form, "kind", 16)
        query = _text(form, "query")
        if kind not in KINDS:
            return see_other("/account")
        try:
            if kind == "interest":
                site.service.add_interest(sub, query)
            else:
                site.service.add_exclusion(sub, query)
        except Refused as exc:
            return refused(browser, sub, f"{kind}-new", exc, (kind, query))
        return see_other("/account?done=added")

    def change_query(browser: Browser, sub: Subscriber, form: FormData) -> Response:
        kind, position = _text(form, "kind", 16), _position(form)
        if kind not in KINDS:
            return see_other("/account")
        try:
            if _text(form, "action", 16) == "remove":
                if kind == "interest":
                    site.service.remove_interest(sub.id, position)
                else:
                    site.service.remove_exclusion(sub.id, position)
                return see_other("/account?done=removed")
            site.service.replace_query(sub.id, kind, position, _text(form, "query"))
        except Refused as exc:
            return refused(browser, sub, f"{kind}-{position}", exc, (kind, ""))
        return see_other("/account?done=saved")

    def accept_suggestion(browser: Browser, sub: Subscriber, form: FormData) -> Response:
        kind, query = _text(form, "kind", 16), _text(form, "query")
        if kind not in KINDS:
            return see_other("/account")
        try:
            site.service.accept_suggestion(
                sub, "interest" if kind == "interest" else "exclusion", query
            )
        except Refused as exc:
            return refused(browser, sub, f"{kind}-new", exc, (kind, query))
        return see_other("/account?done=added")

    def clear(browser: Browser, sub: Subscriber, form: FormData) -> Response:
        site.service.clear_profile(sub.id)
        return see_other("/account?done=cleared")

    def schedule(browser: Browser, sub: Subscriber, form: FormData) -> Response:
        try:
            frequency = Frequency(_text(form, "frequency", 16))
            day = int(_text(form, "weekly_day", 2) or sub.weekly_day)
            site.service.set_schedule(
                sub.id,
                send_time=validate.send_time(_text(form, "send_time", 16)),
                timezone=_text(form, "timezone", 64),
                frequency=frequency,
                weekly_day=day,
            )
        except (Refused, ValueError) as exc:
            return refused(browser, sub, "schedule", exc, ("interest", ""))
        return see_other("/account?done=schedule")

    def state(browser: Browser, sub: Subscriber, form: FormData) -> Response:
        if _text(form, "action", 16) == "pause":
            site.service.pause(sub.id)
            return see_other("/account?done=paused")
        site.service.resume(sub)
        return see_other("/account?done=resumed")

    def add_email(browser: Browser, sub: Subscriber, form: FormData) -> Response:
        try:
            address = validate.email(_text(form, "email", 320))
            verdict = site.reserve(MailPurpose.CONFIRM_EMAIL, address, f"web:subscriber:{sub.id}")
            if not verdict.allowed:
                return site.page(browser, "limited.html", 429, retry_at=verdict.retry_at)
            endpoint = site.service.add_email(sub, address)
        except ValueError as exc:  # Refused is one too
            return refused(browser, sub, "email", exc, ("interest", ""))
        if endpoint.confirmed:
            return see_other("/account?done=saved")
        url = confirm_url(site.settings, sub.id, endpoint.id, endpoint.address)
        return see_other(
            "/account?done=email",
            site.mail_later(site.send_confirmation, endpoint.address, url),
        )

    def unsubscribe(browser: Browser, sub: Subscriber, form: FormData) -> Response:
        site.service.stop(sub)  # also ends every session of the subscriber
        log.info("unsubscribed on the web", subscriber_id=sub.id)
        return site.sessions.forget(see_other("/goodbye"))

    def goodbye(request: Request) -> Response:
        return site.page(site.sessions.browser(request), "goodbye.html")

    return [
        Route("/account", account_page, methods=["GET"]),
        Route("/account/preview", preview_fragment, methods=["GET"]),
        Route("/account/queries/add", acting(add_query), methods=["POST"]),
        Route("/account/queries/change", acting(change_query), methods=["POST"]),
        Route("/account/queries/clear", acting(clear), methods=["POST"]),
        Route("/account/suggestion", acting(accept_suggestion), methods=["POST"]),
        Route("/account/schedule", acting(schedule), methods=["POST"]),
        Route("/account/state", acting(state), methods=["POST"]),
        Route("/account/email", acting(add_email), methods=["POST"]),
        Route("/account/unsubscribe", acting(unsubscribe), methods=["POST"]),
        Route("/goodbye", goodbye, methods=["GET"]),
    ]

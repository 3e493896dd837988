"""The Slack app: the ``/subscribe`` command and the digest buttons, on slack-bolt.

Over HTTP, Slack posts to ``/slack/commands`` and ``/slack/interactions``. Every request
is verified on its raw bytes before Bolt parses anything (:mod:`alertbot.slack_app.verify`:
the ``X-Slack-Signature`` HMAC of ``v0:{timestamp}:{body}`` with the signing secret,
compared in constant time, the timestamp within 5 minutes either way); anything else
gets a 401 and one log line before any listener runs. Over Socket Mode
(``slack.app_token``, see :mod:`alertbot.slack_app.socket_mode`) the same listeners serve
events from Slack's WebSocket instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from alertbot.config import Settings
from alertbot.deliver.confirm import send_confirmation as deliver_confirmation
from alertbot.deliver.slack import make_client as slack_client
from alertbot.logs import get_logger
from alertbot.slack_app import interactions
from alertbot.slack_app.actions import perform
from alertbot.slack_app.commands import parse_command
from alertbot.slack_app.context import ConfirmationSender, SlackDeps, SlackUser
from alertbot.slack_app.ratelimit import RateLimiter
from alertbot.slack_app.verify import RequestVerifier
from alertbot.store.outgoing_mail import MailLimits

log = get_logger(__name__)

COMMAND = "/subscribe"
MAX_BODY_BYTES = 1024 * 1024
API_TIMEOUT_SECONDS = 2  # users.info runs before the 3-second acknowledgement
SORRY = "Sorry, something went wrong on our side. Please try again in a minute."


def make_client(settings: Settings) -> WebClient:
    """The delivery channel's client (which never retries: a 429's Retry-After or a
    second attempt would blow the 3-second acknowledgement, and a failed users.info only
    means falling back to the stored time zone)."""
    token = settings.slack.bot_token.get_secret_value() if settings.slack.bot_token else ""
    return slack_client(token, base_url=settings.slack.api_url, timeout=API_TIMEOUT_SECONDS)


def make_deps(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    client: WebClient | None = None,
    send_confirmation: ConfirmationSender | None = None,
    background: Executor | None = None,
) -> SlackDeps:
    """What the listeners need; ``background`` runs follow-ups (the service shuts it down
    before the store, so none runs on after "service stopped")."""
    deps = SlackDeps(
        engine=engine,
        settings=settings,
        now=now,
        client=client or make_client(settings),
        limiter=RateLimiter(settings.subscribe.commands_per_minute, now=now),
        mail_limits=MailLimits.from_settings(settings),
        send_confirmation=send_confirmation or deliver_confirmation,
    )
    if background is not None:
        deps.background = background
    return deps


def build_app(deps: SlackDeps) -> App:
    """A Bolt app with the command and button listeners registered.

    It does not verify requests itself: over HTTP, :func:`slack_routes` has verified
    every request before dispatching it (Bolt's own check raised on malformed input);
    over Socket Mode there is no HTTP request to sign.
    """
    secret = deps.settings.slack.signing_secret
    token = deps.client.token

    def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        # One bot token, known in advance: no auth.test call on the request path.
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, bot_token=token
        )

    app = App(
        # The token comes from authorize(); a client holding one too makes Bolt warn.
        client=WebClient(base_url=deps.client.base_url, timeout=deps.client.timeout),
        signing_secret=secret.get_secret_value() if secret else None,
        authorize=authorize,
        request_verification_enabled=False,
        # Listeners acknowledge first and may work on (preview, email) afterwards.
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    register_command(app, deps)
    interactions.register(app, deps)
    return app


def command_user(command: dict[str, Any]) -> SlackUser | None:
    return SlackUser.from_payload(
        command.get("team_id"), command.get("user_id"), command.get("user_name")
    )


def register_command(app: App, deps: SlackDeps) -> None:
    """Listen for ``/subscribe``."""

    @app.command(COMMAND)
    def on_subscribe(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        user = command_user(command)
        if user is None:
            ack(text="This command must come from a Slack user.", response_type="ephemeral")
            return
        if not deps.limiter.allow((user.team_id, user.user_id)):
            wait = int(deps.limiter.retry_after((user.team_id, user.user_id))) + 1
            ack(text=f"Too many commands: please wait {wait} s.", response_type="ephemeral")
            return
        action = parse_command(str(command.get("text") or ""))
        try:
            outcome = perform(action, user, deps)
        except Exception:
            log.exception("subscribe command failed", action=type(action).__name__)
            ack(text=SORRY, response_type="ephemeral")
            return
        log.info(
            "subscribe command",
            team=user.team_id,
            user=user.user_id,
            action=type(action).__name__,
        )
        ack(text=outcome.reply, response_type="ephemeral")
        if outcome.follow_up is not None:
            deps.background.submit(_run_follow_up, outcome.follow_up, respond)


def _run_follow_up(follow_up: Callable[[Respond], None], respond: Respond) -> None:
    try:
        follow_up(respond)
    except Exception:
        log.exception("subscribe follow-up failed")
        respond(text=SORRY, response_type="ephemeral", replace_original=False)


async def _read_body(request: Request) -> bytes | None:
    """The raw body, or None if it is larger than :data:`MAX_BODY_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def slack_routes(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    client: WebClient | None = None,
    send_confirmation: ConfirmationSender | None = None,
    background: Executor | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> list[BaseRoute]:
    """``POST /slack/commands`` and ``POST /slack/interactions``, each request verified.

    ``now`` is the app's clock; Slack's signatures are checked against ``wall_clock``
    (real time: Slack stamps its requests with it).
    """
    if settings.slack.signing_secret is None:
        raise ValueError("slack.signing_secret is required to serve Slack over HTTP")
    deps = make_deps(
        engine,
        settings,
        now=now,
        client=client,
        send_confirmation=send_confirmation,
        background=background,
    )
    app = build_app(deps)
    verifier = RequestVerifier(
        settings.slack.signing_secret.get_secret_value(), wall_clock=wall_clock
    )

    def refused(request: Request, status: int, reason: str) -> Response:
        log.info("slack request refused", path=request.url.path, status=status, reason=reason)
        return PlainTextResponse("", status_code=status)

    async def endpoint(request: Request) -> Response:
        try:
            body = await _read_body(request)
        except ClientDisconnect:
            return refused(request, 400, "client disconnected")
        if body is None:
            return refused(request, 413, f"body over {MAX_BODY_BYTES} bytes")
        reason = verifier.refusal(body, request.headers)
        if reason is not None:
            return refused(request, 401, reason)
        try:
            bolt_request = to_bolt_request(request, body)
        except (ValueError, TypeError, AttributeError, KeyError):
            # Genuine, yet a payload Bolt cannot read (not JSON, a list, odd field types):
            # Slack never sends one, and Bolt's parser assumes the shapes Slack sends.
            return refused(request, 400, "payload Bolt cannot read")
        response = await run_in_threadpool(app.dispatch, bolt_request)
        return to_starlette_response(response)

    return [
        Route("/slack/commands", endpoint, methods=["POST"]),
        Route("/slack/interactions", endpoint, methods=["POST"]),
    ]

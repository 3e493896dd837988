"""Digest buttons: useful / not useful feedback, accepting a query suggestion, and
unsubscribe.

The clicking user is found by (team, user) from the signed payload; a button value is
untrusted input like any other: an endpoint id that is not the clicker's own changes
nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from alertbot.logs import get_logger
from alertbot.model import EndpointKind, SuggestionKind
from alertbot.slack_app.context import SlackDeps, SlackUser
from alertbot.slack_app.replies import echo, escape
from alertbot.store import feedback as feedback_store
from alertbot.store.feedback import FeedbackValue
from alertbot.store.papers import get_papers
from alertbot.subscribers import PAUSED_FROM_SLACK, AlreadyThere, Refused

log = get_logger(__name__)

FEEDBACK: dict[str, FeedbackValue] = {
    "feedback_useful": "useful",
    "feedback_not_useful": "not_useful",
}
FEEDBACK_DONE = {
    "useful": "Marked as useful. Thanks!",
    "not_useful": "Marked as not useful. Thanks!",
}
MAX_PAPER_ID = 64
MAX_SUGGESTION_VALUE = 2000  # Slack's limit on a button value


def clicker(body: dict[str, Any]) -> SlackUser | None:
    """Who clicked, from a block_actions payload (None if it does not say)."""
    user = body.get("user") or {}
    team = body.get("team") or {}
    return SlackUser.from_payload(
        team.get("id") or user.get("team_id"),
        user.get("id"),
        user.get("username") or user.get("name"),
    )


def first_action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    first = actions[0]
    return first if isinstance(first, dict) else {}


def acknowledged_blocks(
    body: dict[str, Any], block_id: str, note: str
) -> list[dict[str, Any]] | None:
    """The message's blocks with the clicked actions block replaced by ``note``."""
    blocks = (body.get("message") or {}).get("blocks")
    if not isinstance(blocks, list):
        return None
    note_block = {"type": "context", "elements": [{"type": "plain_text", "text": note}]}
    return [
        note_block if isinstance(b, dict) and b.get("block_id") == block_id else b for b in blocks
    ]


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def register(app: App, deps: SlackDeps) -> None:
    """Listen for the digest buttons."""

    def on_feedback(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        action = first_action(body)
        value = FEEDBACK.get(str(action.get("action_id")))
        paper_id = action.get("value")
        user = clicker(body)
        sub = deps.subscribers.by_slack(user.team_id, user.user_id) if user else None
        valid_paper = (
            isinstance(paper_id, str)
            and 0 < len(paper_id) <= MAX_PAPER_ID
            and bool(get_papers(deps.engine, [paper_id]))
        )
        if sub is None or value is None or not valid_paper:
            ack()
            _ephemeral(respond, "That feedback could not be recorded: you are not subscribed here.")
            return
        feedback_store.record_feedback(deps.engine, sub.id, str(paper_id), value, now=deps.now())
        ack()
        log.info("feedback", subscriber_id=sub.id, paper=paper_id, value=value)
        note = FEEDBACK_DONE[value]
        blocks = acknowledged_blocks(body, str(action.get("block_id") or ""), note)
        if blocks is None:
            _ephemeral(respond, note)
        else:
            text = str((body.get("message") or {}).get("text") or note)
            respond(text=text, blocks=blocks, replace_original=True)

    def on_unsubscribe(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        action = first_action(body)
        raw = action.get("value")
        user = clicker(body)
        sub = deps.subscribers.by_slack(user.team_id, user.user_id) if user else None
        endpoint_id = (
            int(raw)
            if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 12
            else None
        )
        endpoint = deps.subscribers.endpoint(endpoint_id) if endpoint_id else None
        if (
            sub is None
            or endpoint is None
            or endpoint.subscriber_id != sub.id
            or endpoint.kind not in (EndpointKind.SLACK_USER, EndpointKind.SLACK_CHANNEL)
        ):
            ack()
            _ephemeral(respond, "Only the person this digest is for can unsubscribe from it.")
            return
        deps.subscribers.turn_off(endpoint.id, PAUSED_FROM_SLACK)
        ack()
        log.info(
            "slack unsubscribe",
            subscriber_id=sub.id,
            endpoint_id=endpoint.id,
        )
        _ephemeral(
            respond,
            "Done: no more digests here. `/subscribe resume` turns them back on; "
            "`/subscribe list` shows your settings.",
        )

    def on_suggestion(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        action = first_action(body)
        user = clicker(body)
        sub = deps.subscribers.by_slack(user.team_id, user.user_id) if user else None
        wanted = _suggestion(action.get("value"))
        if sub is None or wanted is None:
            ack()
            _ephemeral(respond, "That suggestion could not be added: you are not subscribed here.")
            return
        kind, query = wanted
        try:  # added before the acknowledgement, as feedback is recorded before it
            deps.subscribers.accept_suggestion(sub, kind, query)
        except AlreadyThere:
            note = f"You already have {echo(query)}."
        except Refused as exc:
            note = f"That suggestion could not be added: {escape(str(exc))}."
        else:
            log.info("suggestion accepted", subscriber_id=sub.id, kind=kind, channel="slack")
            added = "Added interest" if kind == "interest" else "Now excluded"
            note = f"{added}: {echo(query)}. It is an ordinary part of your profile now."
        ack()
        blocks = acknowledged_blocks(body, str(action.get("block_id") or ""), note)
        if blocks is None:
            _ephemeral(respond, note)
        else:
            text = str((body.get("message") or {}).get("text") or note)
            respond(text=text, blocks=blocks, replace_original=True)

    app.action("feedback_useful")(_guarded(on_feedback))
    app.action("suggestion_accept")(_guarded(on_suggestion))
    app.action("feedback_not_useful")(_guarded(on_feedback))
    app.action("unsubscribe")(_guarded(on_unsubscribe))


Listener = Callable[[Ack, dict[str, Any], Respond], None]


def _suggestion(raw: object) -> tuple[SuggestionKind, str] | None:
    """A suggestion button's value, JSON ``[kind, query]``; None if it is not one."""
    if not isinstance(raw, str) or len(raw) > MAX_SUGGESTION_VALUE:
        return None
    try:
        kind, query = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if kind not in ("interest", "exclusion") or not isinstance(query, str):
        return None
    return ("interest" if kind == "interest" else "exclusion"), query


def _guarded(listener: Listener) -> Listener:
    """A listener whose failure is acknowledged and apologised for, never a 500 to Slack."""

    @functools.wraps(listener)
    def run(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        try:
            listener(ack, body, respond)
        except Exception:
            log.exception("button failed", listener=listener.__name__)
            if ack.response is None:
                ack()
            _ephemeral(respond, "Sorry, something went wrong on our side. Please try again.")

    return run

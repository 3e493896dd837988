"""Carrying out a parsed ``/subscribe`` action for one Slack user.

Each action returns the ephemeral reply sent with the acknowledgement, and optionally a
follow-up (the preview, the confirmation email) run after the acknowledgement, because
Slack wants an answer within 3 seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError, SlackClientError

from alertbot import validate
from alertbot.digest import build_digest
from alertbot.links import confirm_url, signer_for
from alertbot.logs import get_logger
from alertbot.match import ProfileIndex, QueryError
from alertbot.match.like import is_like
from alertbot.model import EndpointKind, Profile, Subscriber
from alertbot.render import Renderer
from alertbot.render.slack import suggestion_block
from alertbot.slack_app import commands as c
from alertbot.slack_app import replies
from alertbot.slack_app.context import SlackDeps, SlackUser
from alertbot.slack_app.replies import echo, escape
from alertbot.store.candidates import candidate_papers
from alertbot.store.outgoing_mail import MailPurpose, reserve_mail
from alertbot.subscribers import (
    MAX_EMAILS,
    AlreadyThere,
    NoSuchItem,
    QueryRefused,
    Refused,
    TooMany,
)
from alertbot.tokens import BadToken

log = get_logger(__name__)

Respond = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    reply: str
    follow_up: Callable[[Respond], None] | None = None


def perform(action: c.Action, user: SlackUser, deps: SlackDeps) -> Outcome:
    """Do what ``action`` asks for ``user``; the reply text is already escaped."""
    if isinstance(action, c.Invalid):
        return Outcome(action.message)
    if isinstance(action, c.Help):
        return Outcome(replies.HELP)
    if isinstance(action, c.LinkWeb):
        return _link_web(action.code, user, deps)
    sub = subscriber_for(user, deps)
    service = deps.subscribers
    match action:
        case c.AddInterest(query):
            return _add_interest(sub, query, deps)
        case c.AddExclusion(query):
            return _add_exclusion(sub, query, deps)
        case c.ListProfile():
            return Outcome(replies.list_text(sub))
        case c.RemoveInterest(position):
            try:
                removed = service.remove_interest(sub.id, position)
            except NoSuchItem as exc:
                return Outcome(escape(str(exc)).capitalize() + ".")
            return Outcome(f"Removed interest {position}: {echo(removed)}.")
        case c.ClearProfile():
            service.clear_profile(sub.id)
            return Outcome("Forgot all your interests and exclusions.")
        case c.SetTime(at, zone):
            zone = zone or slack_time_zone(user, deps) or sub.timezone
            service.set_schedule(sub.id, send_time=at, timezone=zone)
            return Outcome(replies.time_text(at, zone))
        case c.SetFrequency(frequency, day):
            updated = service.set_schedule(sub.id, frequency=frequency, weekly_day=day)
            return Outcome(f"Your digest now comes at {replies.when_text(updated)}.")
        case c.Pause():
            service.pause(sub.id)
            return Outcome("Paused: no digests until `/subscribe resume`.")
        case c.Resume():
            return _resume(sub, deps)
        case c.Stop():
            return _stop(sub, deps)
        case c.Preview():
            return Outcome(
                "Building your preview…", follow_up=lambda respond: _preview(sub, deps, respond)
            )
        case c.AddEmail(address):
            return _add_email(sub, address, user, deps)
        case c.SetLearning(allowed):
            service.set_learning(sub.id, allowed)
            return Outcome(replies.LEARNING_ON if allowed else replies.LEARNING_OFF)
        case c.Suggest():
            return Outcome(
                "Looking at your feedback…", follow_up=lambda respond: _suggest(sub, deps, respond)
            )
    raise TypeError(f"unhandled action {action!r}")  # pragma: no cover - the match is total


def _link_web(code: str, user: SlackUser, deps: SlackDeps) -> Outcome:
    """Link this Slack user to the web account whose page showed ``code``."""
    try:
        claim = signer_for(deps.settings).read_slack_link(code)
    except BadToken:
        return Outcome("That link code is not valid or has expired: reload your account page.")
    try:
        sub = deps.subscribers.link_slack(
            claim.subscriber_id, user.team_id, user.user_id, link_id=claim.link_id
        )
    except Refused as exc:
        return Outcome(escape(str(exc)))
    log.info("slack user linked", subscriber_id=sub.id, team=user.team_id, user=user.user_id)
    return Outcome(
        "Linked: your digests now also come here, and `/subscribe` changes the same "
        "interests as your web account."
    )


def subscriber_for(user: SlackUser, deps: SlackDeps) -> Subscriber:
    """The user's subscriber in that team, created (with a Slack DM endpoint) on first use."""
    found = deps.subscribers.by_slack(user.team_id, user.user_id)
    if found is not None:
        return found
    sub, created = deps.subscribers.slack_subscriber(
        user.team_id,
        user.user_id,
        name=user.user_name,
        timezone=slack_time_zone(user, deps),
    )
    if created:
        log.info(
            "slack subscriber created", subscriber_id=sub.id, team=user.team_id, user=user.user_id
        )
    return sub


ZONE_CACHE_SECONDS = 600


def slack_time_zone(user: SlackUser, deps: SlackDeps) -> str | None:
    """The user's time zone from ``users.info``, or None if Slack does not say.

    Remembered for a few minutes: a first ``/subscribe time 08:30`` needs it twice
    (creating the subscriber, then the time), and each call eats into the 3 seconds
    Slack gives us to answer.
    """
    key = (user.team_id, user.user_id)
    now = deps.now()
    cached = deps.zone_cache.get(key)
    if cached is not None and (now - cached[1]).total_seconds() < ZONE_CACHE_SECONDS:
        return cached[0]
    try:
        info = deps.client.users_info(user=user.user_id)
        zone = (info.get("user") or {}).get("tz")
        found = validate.timezone(zone) if isinstance(zone, str) else None
    except (SlackApiError, SlackClientError, ValueError, OSError) as exc:
        log.warning("users.info failed", user=user.user_id, error=exc)
        return None  # not cached: the next command tries again
    deps.zone_cache[key] = (found, now)
    return found


def _query_reply(exc: QueryRefused) -> str:
    where = ""
    column = exc.error.column
    if column is not None:
        start = max(column - 1, 0)
        where = f" (column {column}, at {echo(exc.query[start : start + 20] or 'the end')})"
    return f"That query does not work: {escape(exc.error.message)}{where}. See `/subscribe help`."


def _add_interest(sub: Subscriber, query: str, deps: SlackDeps) -> Outcome:
    interests = sub.profile.interests
    try:
        _, number = deps.subscribers.add_interest(sub, query)
    except QueryRefused as exc:
        return Outcome(_query_reply(exc))
    except AlreadyThere as exc:
        return Outcome(f"You already have {echo(query)} (number {exc.position}).")
    except TooMany:
        return Outcome(
            f"You have {len(interests)} interests, the most allowed. "
            "Remove one first (`/subscribe list`, then `/subscribe remove N`)."
        )

    if is_like(query):  # matched by similarity at queue time, not by the keyword index
        return Outcome(
            f"Added interest {number}: {echo(query)}. Papers like it come in your digests "
            "from the next one."
        )

    def count(respond: Respond) -> None:
        matched, total = count_matches(sub, query, deps)
        days = deps.settings.match.corpus_days
        respond(
            text=replies.matched_text(query, number, matched, total, days),
            response_type="ephemeral",
            replace_original=False,
        )

    # Counting reads the whole recent corpus: too slow for the 3-second acknowledgement.
    return Outcome(replies.added_text(query, number), follow_up=count)


def count_matches(sub: Subscriber, query: str, deps: SlackDeps) -> tuple[int, int]:
    """How many recent papers ``query`` (with the user's exclusions) matches, of how many."""
    corpus = deps.corpus.get(deps.engine, now=deps.now(), days=deps.settings.match.corpus_days)
    profile = Profile(
        interests=(query,), exclusions=sub.profile.exclusions, min_score=sub.profile.min_score
    )
    if not corpus.papers:
        return 0, 0
    try:
        index = ProfileIndex.build({0: profile})
    except QueryError:  # an exclusion stored under other limits; count without them
        index = ProfileIndex.build({0: Profile(interests=(query,))})
    # A count needs no Match objects: the table's columns say it.
    return index.table(corpus.papers, corpus.stats).count(0), len(corpus.papers)


def _add_exclusion(sub: Subscriber, query: str, deps: SlackDeps) -> Outcome:
    try:
        deps.subscribers.add_exclusion(sub, query)
    except QueryRefused as exc:
        return Outcome(_query_reply(exc))
    except AlreadyThere:
        return Outcome(f"You already exclude {echo(query)}.")
    except TooMany:
        return Outcome(f"You have {len(sub.profile.exclusions)} exclusions, the most allowed.")
    return Outcome(f"Papers matching {echo(query)} will be left out.")


def _stop(sub: Subscriber, deps: SlackDeps) -> Outcome:
    deps.subscribers.stop(sub)
    return Outcome(
        "Unsubscribed: no more digests anywhere. Your interests are kept until "
        "`/subscribe clear`; `/subscribe resume` starts again."
    )


def _resume(sub: Subscriber, deps: SlackDeps) -> Outcome:
    deps.subscribers.resume(sub)
    text = "Resumed: your next digest comes at " + replies.when_text(sub) + "."
    if not sub.profile.interests:
        text += " You have no interests yet: add one with `/subscribe QUERY`."
    return Outcome(text)


def _add_email(sub: Subscriber, address: str, user: SlackUser, deps: SlackDeps) -> Outcome:
    emails = [e for e in sub.endpoints if e.kind == EndpointKind.EMAIL]
    existing = next((e for e in emails if e.address.lower() == address.lower()), None)
    if existing is not None and existing.active and existing.confirmed:
        return Outcome(f"Digests already go to {echo(existing.address)}.")
    if existing is None and len(emails) >= MAX_EMAILS:
        return Outcome(f"You already have {len(emails)} email addresses, the most allowed.")
    sender = deps.send_confirmation
    if sender is None or not deps.settings.smtp.host:
        return Outcome("Email delivery is not set up on this alertbot, sorry.")
    # Counted before anything is stored or sent: the command must not mail-bomb anyone.
    verdict = reserve_mail(
        deps.engine,
        MailPurpose.CONFIRM_EMAIL,
        address=address,
        requester=f"slack:{user.team_id}:{user.user_id}",
        limits=deps.mail_limits,
        now=deps.now(),
    )
    if not verdict.allowed:
        log.info("confirmation email refused", subscriber_id=sub.id, limit=verdict.limit)
        return Outcome(replies.mail_limited_text(address, verdict, deps.mail_limits, deps.now()))
    if existing is None:
        try:
            existing = deps.subscribers.add_email(sub, address)
        except TooMany:  # another add took the last place since ``sub`` was read
            return Outcome(f"You already have {MAX_EMAILS} email addresses, the most allowed.")
    endpoint = existing
    url = confirm_url(deps.settings, sub.id, endpoint.id, endpoint.address)

    def send(respond: Respond) -> None:
        try:
            sender(deps.settings, endpoint.address, url, deps.now())
        except Exception as exc:
            log.warning(
                "confirmation email failed",
                endpoint_id=endpoint.id,
                error=exc.__class__.__name__,
            )
            respond(
                text=f"Sorry, the confirmation email to {echo(endpoint.address)} could not be "
                "sent. Try again later.",
                response_type="ephemeral",
                replace_original=False,
            )

    return Outcome(
        f"Almost done: open the link we emailed to {echo(endpoint.address)} to confirm it. "
        "Until then nothing is sent there.",
        follow_up=send,
    )


def _suggest(sub: Subscriber, deps: SlackDeps, respond: Respond) -> None:
    """The query changes the user's feedback argues for, each with its accept button."""
    found = deps.subscribers.suggestions_for(sub.id)
    if not found:
        respond(text=replies.NO_SUGGESTIONS, response_type="ephemeral")
        return
    head = "Your useful / not useful clicks suggest (one click adds it to your profile):"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    blocks += [suggestion_block(n, s) for n, s in enumerate(found)]
    respond(text=head, blocks=blocks, response_type="ephemeral")


def _preview(sub: Subscriber, deps: SlackDeps, respond: Respond) -> None:
    """Build today's digest for the user's Slack endpoint and post it through response_url."""
    now = deps.now()
    endpoint = next((e for e in sub.endpoints if e.kind == EndpointKind.SLACK_USER), None)
    if endpoint is None:  # removed from the command line since
        respond(text="You have no Slack delivery to preview.", response_type="ephemeral")
        return
    try:
        candidates = candidate_papers(deps.engine, endpoint, now=now)
        days = deps.settings.match.corpus_days
        stats = deps.corpus.get(deps.engine, now=now, days=days).stats
        local_date = now.astimezone(ZoneInfo(sub.timezone)).date()
        digest = build_digest(sub, endpoint, local_date, candidates, stats)
    except QueryError as exc:
        respond(text=f"Your profile does not parse: {escape(str(exc))}.", response_type="ephemeral")
        return
    if digest.is_empty:
        respond(
            text=f"Nothing new matches your interests yet ({len(candidates)} papers checked).",
            response_type="ephemeral",
        )
        return
    message = Renderer(public_url=deps.settings.web.public_url).slack(digest)
    respond(text=message.text, blocks=message.blocks, response_type="ephemeral")

"""The subscriber service's part for web accounts: signing up by email, finding the
owner of an address, and the sessions that sign-out and unsubscribe end.

A mixin of :class:`alertbot.subscribers.SubscriberService` (its own module to keep
``service.py`` small): the web pages call these through the one service, like
everything else they change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time

from sqlalchemy import Engine

from alertbot import validate
from alertbot.config import Settings
from alertbot.match import QueryError, parse_query
from alertbot.model import Endpoint, EndpointKind, Profile, Subscriber
from alertbot.store import accounts
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as store
from alertbot.store.db import serialise_writers, transaction
from alertbot.store.locks import Lock
from alertbot.store.schema import subscribers as subscribers_table
from alertbot.subscribers.refusals import AddressTaken, QueryRefused, Refused, SlackUserTaken
from alertbot.subscribers.spec import QueryLimits

AWAITING_CONFIRMATION = "awaiting confirmation"


class AccountsMixin:
    engine: Engine
    settings: Settings
    now: Callable[[], datetime]
    limits: QueryLimits

    def email_owner(self, address: str) -> tuple[int, int] | None:
        """``(subscriber id, endpoint id)`` for an email address someone typed, or None
        (also for an address that is not valid: nobody owns it)."""
        try:
            address = validate.email(address)
        except ValueError:
            return None
        return accounts.email_owner(self.engine, address)

    def sign_up(
        self, address: str, interest: str, *, timezone: str, send_time: time
    ) -> tuple[Subscriber, Endpoint]:
        """A new subscriber from the web form: one interest, one email address off until
        confirmed (double opt-in). :class:`AddressTaken` if a subscriber has the address
        (the caller may have checked first; this check is the one that holds).

        Refused (nothing stored) for an invalid address, zone or interest; the
        interest's refusal is a :class:`QueryRefused` with the parser's column.
        """
        try:
            address = validate.email(address)
            timezone = validate.timezone(timezone)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        interest = interest.strip()
        try:
            parse_query(
                interest, max_length=self.limits.max_length, max_clauses=self.limits.max_clauses
            )
        except QueryError as exc:
            raise QueryRefused("interest", interest, exc) from None
        now = self.now()
        with transaction(self.engine) as conn:
            # Checked under the lock: two sign-ups for one address at once (a double
            # click, two tabs) both found it free and made two subscribers, two digests a
            # day for one reader (SQLite: every writer waits; PostgreSQL: other sign-ups).
            serialise_writers(conn, subscribers_table, Lock.SIGN_UP)
            owner = accounts.email_owner(conn, address)
            if owner is not None:
                raise AddressTaken(f"{address} has an account already", owner)
            # The name is only a label for operators (``subscribers list``): the address,
            # made unique with the new row's id if someone already took it.
            taken = store.find_subscriber(conn, address) is not None
            sub = store.create_subscriber(
                conn,
                name=f"{address} (web)" if taken else address,
                now=now,
                profile=Profile(interests=(interest,)),
                timezone=timezone,
                send_time=send_time,
            )
            endpoint = endpoint_store.add_endpoint(
                conn, sub.id, EndpointKind.EMAIL, address, now=now, confirmed=False
            )
            endpoint_store.set_endpoint_active(
                conn, endpoint.id, False, reason=AWAITING_CONFIRMATION
            )
            found = store.get_subscriber(conn, sub.id)
            assert found is not None  # created in this very transaction
            own = next(e for e in found.endpoints if e.id == endpoint.id)
        return found, own

    def session_generation(self, subscriber_id: int) -> int:
        return accounts.session_generation(self.engine, subscriber_id)

    def end_sessions(self, subscriber_id: int) -> int:
        """Sign the subscriber out everywhere (every session cookie issued so far)."""
        return accounts.end_sessions(self.engine, subscriber_id)

    def link_slack(
        self, subscriber_id: int, team_id: str, user_id: str, *, link_id: str
    ) -> Subscriber:
        """Make the Slack user ``team_id:user_id`` the web subscriber ``subscriber_id``'s
        too (digests by DM, ``/subscribe`` on the same profile); ``link_id`` spends the
        code the account page showed.

        A Slack user with a subscription of their own (any interest or exclusion) is
        refused: two profiles are not merged silently. An empty one (what a first
        ``/subscribe`` creates) is replaced. Refused for a spent code.
        """
        now = self.now()
        with transaction(self.engine) as conn:
            # The checks below decide a delete and a link: taken under the lock, so a
            # `/subscribe` adding an interest meanwhile is not deleted with the empty
            # subscriber it was checked as (SQLite: every writer waits; PostgreSQL: other
            # links wait, a concurrent `/subscribe` does not).
            serialise_writers(conn, subscribers_table, Lock.SLACK_LINK)
            target = store.get_subscriber(conn, subscriber_id)
            if target is None:
                raise Refused("that account no longer exists")
            other = store.find_by_slack(conn, team_id, user_id)
            if other is not None and other.id == target.id:
                return target
            if other is not None and (other.profile.interests or other.profile.exclusions):
                raise SlackUserTaken(
                    "this Slack user has its own interests already: `/subscribe clear` "
                    "them first (or keep the two apart)"
                )
            if target.slack_user_id is not None:
                raise SlackUserTaken("that account is linked to another Slack user already")
            if not accounts.use_signin_link(conn, link_id, now=now):
                raise Refused("that link code was used already: reload your account page")
            if other is not None:
                store.delete_subscriber(conn, other.id)
            store.update_subscriber(conn, target.id, now=now, slack_user=(team_id, user_id))
            endpoint_store.add_endpoint(
                conn, target.id, EndpointKind.SLACK_USER, user_id, now=now, slack_team_id=team_id
            )
            found = store.get_subscriber(conn, target.id)
            assert found is not None  # updated in this very transaction
            return found

    def signin_link_used(self, link_id: str) -> bool:
        return accounts.signin_link_used(self.engine, link_id)

    def use_signin_link(self, link_id: str) -> bool:
        """Spend a sign-in link; False if it was spent before."""
        return accounts.use_signin_link(self.engine, link_id, now=self.now())

"""The subscriber service: every change to a subscriber, whoever asks for it.

The CLI (``alertbot subscribers ...``), Slack's ``/subscribe`` and the web pages all
call these methods, so one rule holds everywhere: queries parse under ``[match]``'s
limits (a refusal carries the parser's column), a name and a Slack user belong to one
subscriber, an email address added by its owner is unconfirmed until the emailed link
is opened (double opt-in), and self-service additions stop at ``[subscribe]``'s caps.
Refusals are :class:`Refused` exceptions whose message can be shown as is; persistence
is :mod:`alertbot.store.subscribers` (with ``profiles`` and ``endpoints``), called only
from here and from the delivery side.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from alertbot import validate
from alertbot.config import Settings
from alertbot.corpus import CorpusCache
from alertbot.model import Endpoint, EndpointKind, Frequency, Subscriber
from alertbot.readers import VocabularyCache
from alertbot.store import accounts
from alertbot.store import endpoints as endpoint_store
from alertbot.store import profiles as profile_store
from alertbot.store import subscribers as store
from alertbot.store.db import serialise_writers, transaction
from alertbot.store.locks import Lock
from alertbot.store.schema import subscribers as subscribers_table
from alertbot.subscribers.accounts import AWAITING_CONFIRMATION, AccountsMixin
from alertbot.subscribers.profiles import ProfileMixin
from alertbot.subscribers.refusals import (
    NameTaken,
    NoSuchItem,
    Refused,
    SlackUserTaken,
    TooMany,
)
from alertbot.subscribers.spec import NewSubscriber, QueryLimits, SubscriberChanges

NotFound = store.NotFound

# Why an endpoint is off: shown in `subscribers show`, and deciding what resume restores.
STOPPED = "stopped"
PAUSED_FROM_SLACK = "paused from Slack"
UNSUBSCRIBED = "unsubscribed"  # by the link in a digest email
MAX_EMAILS = 3  # addresses a subscriber may add: the service must not mail strangers


class _Known(Exception):
    """The address an add was for is stored already (found under the lock)."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint.address)
        self.endpoint = endpoint


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int


class SubscriberService(AccountsMixin, ProfileMixin):
    """Subscribers on one store, under one set of limits and one clock (web accounts:
    :class:`~alertbot.subscribers.accounts.AccountsMixin`; keyword profiles and
    suggestions: :class:`~alertbot.subscribers.profiles.ProfileMixin`)."""

    def __init__(self, engine: Engine, settings: Settings, *, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self.settings = settings
        self.now = now
        self.limits = QueryLimits(settings.match.max_query_length, settings.match.max_clauses)
        self._corpus = CorpusCache()
        self._vocabulary = VocabularyCache()

    # -- reading ------------------------------------------------------------------------

    def get(self, subscriber_id: int) -> Subscriber | None:
        return store.get_subscriber(self.engine, subscriber_id)

    def find(self, ref: str) -> Subscriber | None:
        """By id (``"12"``) or exact name."""
        return store.find_subscriber(self.engine, ref)

    def by_slack(self, team_id: str, user_id: str) -> Subscriber | None:
        return store.find_by_slack(self.engine, team_id, user_id)

    def list(self, *, active_only: bool = False) -> list[Subscriber]:
        return store.list_subscribers(self.engine, active_only=active_only)

    # -- whole subscribers --------------------------------------------------------------

    def create(self, spec: NewSubscriber) -> Subscriber:
        """A new subscriber from ``spec``; refused if the name or Slack user is taken."""
        with transaction(self.engine) as conn:
            return self._save(conn, spec, None)

    def update(
        self,
        subscriber: Subscriber,
        spec: SubscriberChanges,
        *,
        remove_channels: Collection[int] = (),
        enable_channels: Collection[int] = (),
    ) -> Subscriber:
        """Apply ``spec`` (channels in it are added), then remove or re-enable channels.

        All or nothing: one refusal changes nothing.
        """
        own = {e.id for e in subscriber.endpoints}
        for endpoint_id in (*remove_channels, *enable_channels):
            if endpoint_id not in own:
                raise NoSuchItem(f"channel {endpoint_id} is not one of {subscriber.name}'s")
        with transaction(self.engine) as conn:
            self._save(conn, spec, subscriber)
            for endpoint_id in remove_channels:
                endpoint_store.remove_endpoint(conn, endpoint_id)
            for endpoint_id in enable_channels:
                endpoint_store.set_endpoint_active(conn, endpoint_id, True)
            return self._reload(conn, subscriber.id)

    def import_(
        self,
        specs: Sequence[NewSubscriber],
        *,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Create or update (by name) each subscriber, in one transaction.

        One refusal imports nothing; ``dry_run`` does everything and rolls it back.
        ``progress`` is told how many entries are done, after each.
        """
        created = updated = 0
        with self.engine.connect() as conn:
            tx = conn.begin()
            try:
                for done, spec in enumerate(specs, 1):
                    existing = store.find_subscriber(conn, spec.name)
                    self._save(conn, spec, existing)
                    created += existing is None
                    updated += existing is not None
                    if progress is not None:
                        progress(done)
            except BaseException:
                tx.rollback()
                raise
            if dry_run:
                tx.rollback()
            else:
                tx.commit()
        return ImportResult(created, updated)

    def delete(self, subscriber_id: int) -> bool:
        """Delete a subscriber with its profile, channels and delivery history."""
        return store.delete_subscriber(self.engine, subscriber_id)

    def slack_subscriber(
        self, team_id: str, user_id: str, *, name: str, timezone: str | None
    ) -> tuple[Subscriber, bool]:
        """The Slack user's subscriber, created with a DM channel on first use.

        Returns (subscriber, created). Two first commands at once create one subscriber.
        """
        found = self.by_slack(team_id, user_id)
        if found is not None:
            return found, False
        now = self.now()
        try:
            with transaction(self.engine) as conn:
                created = store.create_subscriber(
                    conn,
                    name=(name or user_id)[:200],
                    now=now,
                    timezone=timezone or "UTC",
                    send_time=self._default_send_time(),
                    slack_team_id=team_id,
                    slack_user_id=user_id,
                )
                endpoint_store.add_endpoint(
                    conn,
                    created.id,
                    EndpointKind.SLACK_USER,
                    user_id,
                    now=now,
                    slack_team_id=team_id,
                )
                return self._reload(conn, created.id), True
        except IntegrityError:
            again = self.by_slack(team_id, user_id)
            if again is None:
                raise
            return again, False

    # -- schedule and state -------------------------------------------------------------

    def set_schedule(
        self,
        subscriber_id: int,
        *,
        send_time: time | None = None,
        timezone: str | None = None,
        frequency: Frequency | None = None,
        weekly_day: int | None = None,
    ) -> Subscriber:
        """Change when digests come; None leaves a part as it is. Zones are checked."""
        if timezone is not None:
            try:
                timezone = validate.timezone(timezone)
            except ValueError as exc:
                raise Refused(str(exc)) from None
        if weekly_day is not None and not 0 <= weekly_day <= 6:
            raise Refused(f"a day number runs from 0 (Monday) to 6, not {weekly_day}")
        return store.update_subscriber(
            self.engine,
            subscriber_id,
            now=self.now(),
            send_time=send_time,
            timezone=timezone,
            frequency=frequency,
            weekly_day=weekly_day,
        )

    def pause(self, subscriber_id: int) -> Subscriber:
        """No digests until resumed; profile and channels are kept."""
        return store.update_subscriber(self.engine, subscriber_id, now=self.now(), active=False)

    def set_learning(self, subscriber_id: int, allowed: bool) -> Subscriber:
        """Whether the subscriber's feedback may reorder their digests (``alertbot learn``)."""
        return store.update_subscriber(self.engine, subscriber_id, now=self.now(), learning=allowed)

    def resume(self, subscriber: Subscriber) -> Subscriber:
        """Digests again, on every channel the subscriber turned off themselves.

        An email address unsubscribed by link or awaiting confirmation stays off: only
        its owner can say yes to it.
        """
        with transaction(self.engine) as conn:
            # The channels as stored, read under the lock the update took, not the
            # caller's copy: one stopped since it was read came back on no channel.
            current = store.update_subscriber(conn, subscriber.id, now=self.now(), active=True)
            for endpoint in current.endpoints:
                back = endpoint.kind == EndpointKind.SLACK_USER or endpoint.disabled_reason in (
                    STOPPED,
                    PAUSED_FROM_SLACK,
                )
                if not endpoint.active and endpoint.confirmed and back:
                    endpoint_store.set_endpoint_active(conn, endpoint.id, True)
            return self._reload(conn, subscriber.id)

    def stop(self, subscriber: Subscriber) -> Subscriber:
        """Unsubscribe everywhere (paused, every channel off, signed out of the web
        pages); the profile is kept."""
        with transaction(self.engine) as conn:
            # As in resume: an address added since the caller's copy was read went on
            # receiving digests after "unsubscribe everywhere".
            current = store.update_subscriber(conn, subscriber.id, now=self.now(), active=False)
            for endpoint in current.endpoints:
                if endpoint.active:
                    endpoint_store.set_endpoint_active(conn, endpoint.id, False, reason=STOPPED)
            accounts.end_sessions(conn, subscriber.id)
            return self._reload(conn, subscriber.id)

    # -- channels -----------------------------------------------------------------------

    def endpoint(self, endpoint_id: int) -> Endpoint | None:
        return endpoint_store.get_endpoint(self.engine, endpoint_id)

    def add_email(self, subscriber: Subscriber, address: str) -> Endpoint:
        """An address the subscriber gave, off until confirmed by the emailed link.

        Returns the endpoint (the one already there, if the address is known); the
        caller sends the confirmation (``links.confirm_url``). Refused past
        :data:`MAX_EMAILS` addresses or for an invalid address.
        """
        try:
            address = validate.email(address)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        emails = [e for e in subscriber.endpoints if e.kind == EndpointKind.EMAIL]
        existing = next((e for e in emails if e.address.lower() == address.lower()), None)
        if existing is not None:
            return existing

        def check(stored: Sequence[Endpoint]) -> None:
            # On the addresses as stored, under the lock: two adds at once from one
            # earlier copy each passed the cap the two together broke.
            known = next((e for e in stored if e.address.lower() == address.lower()), None)
            if known is not None:
                raise _Known(known)
            if len(stored) >= MAX_EMAILS:
                raise TooMany(f"you already have {len(stored)} email addresses, the most allowed")

        try:
            with transaction(self.engine) as conn:
                endpoint = endpoint_store.add_endpoint(
                    conn,
                    subscriber.id,
                    EndpointKind.EMAIL,
                    address,
                    now=self.now(),
                    confirmed=False,
                    check=check,
                )
                endpoint_store.set_endpoint_active(
                    conn, endpoint.id, False, reason=AWAITING_CONFIRMATION
                )
        except _Known as known:  # added meanwhile: left as it is, not turned off again
            return known.endpoint
        found = self.endpoint(endpoint.id)
        if found is None:  # pragma: no cover - added in this very call
            raise NotFound(f"no endpoint with id {endpoint.id}")
        return found

    def confirm_email(self, endpoint_id: int) -> None:
        """The owner opened the confirmation link: the address receives digests."""
        endpoint_store.confirm_endpoint(self.engine, endpoint_id)

    def turn_off(self, endpoint_id: int, reason: str) -> None:
        """Stop one channel (an unsubscribe link, a Slack button), saying why; an
        unsubscribe also ends the subscriber's web sessions."""
        with transaction(self.engine) as conn:
            endpoint_store.set_endpoint_active(conn, endpoint_id, False, reason=reason)
            if reason == UNSUBSCRIBED:
                endpoint = endpoint_store.get_endpoint(conn, endpoint_id)
                if endpoint is not None:
                    accounts.end_sessions(conn, endpoint.subscriber_id)

    # -- internals ----------------------------------------------------------------------

    def _default_send_time(self) -> time:
        return validate.send_time(self.settings.subscribe.default_send_time)

    def _reload(self, conn: Connection, subscriber_id: int) -> Subscriber:
        found = store.get_subscriber(conn, subscriber_id)
        if found is None:
            raise NotFound(f"no subscriber with id {subscriber_id}")
        return found

    def _save(
        self, conn: Connection, spec: SubscriberChanges, existing: Subscriber | None
    ) -> Subscriber:
        name = spec.name
        if name is not None and (existing is None or name != existing.name):
            # Under the lock: two creates of one name at once both found it free (no
            # unique key stands behind it: a web sign-up or a Slack user may take any).
            serialise_writers(conn, subscribers_table, Lock.NAMES)
            other = store.find_subscriber(conn, name)
            if other is not None and (existing is None or other.id != existing.id):
                raise NameTaken(f"a subscriber named {name!r} exists (id {other.id})")
        if spec.slack_user is not None:
            owner = store.find_by_slack(conn, *spec.slack_user)
            if owner is not None and (existing is None or owner.id != existing.id):
                raise SlackUserTaken(
                    f"Slack user {':'.join(spec.slack_user)} is already subscriber "
                    f"{owner.name!r} (id {owner.id})"
                )
        now = self.now()
        if existing is None:
            if name is None:
                raise Refused("a new subscriber needs a name")
            sub = store.create_subscriber(
                conn,
                name=name,
                now=now,
                profile=spec.profile(),
                timezone=spec.timezone or "UTC",
                send_time=spec.send_time or self._default_send_time(),
                frequency=spec.frequency or Frequency.DAILY,
                weekly_day=spec.day or 0,
                active=True if spec.active is None else spec.active,
                slack_team_id=spec.slack_user[0] if spec.slack_user else None,
                slack_user_id=spec.slack_user[1] if spec.slack_user else None,
            )
        else:
            sub = store.update_subscriber(
                conn,
                existing.id,
                now=now,
                name=name,
                timezone=spec.timezone,
                send_time=spec.send_time,
                frequency=spec.frequency,
                weekly_day=spec.day,
                active=spec.active,
                slack_user=spec.slack_user,
            )
            profile = spec.profile(sub.profile)
            if profile != sub.profile:
                sub = profile_store.set_profile(conn, sub.id, profile, now=now)
        for kind, address, team in spec.endpoints():
            endpoint_store.add_endpoint(conn, sub.id, kind, address, now=now, slack_team_id=team)
        return self._reload(conn, sub.id)

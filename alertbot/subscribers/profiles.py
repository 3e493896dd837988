"""The subscriber service's part for keyword profiles: checking a query, adding,
editing and removing interests and exclusions under ``[subscribe]``'s caps, and the
suggestions a reader's feedback argues for.

A mixin of :class:`alertbot.subscribers.SubscriberService` (its own module to keep
``service.py`` small), like :mod:`alertbot.subscribers.accounts`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.corpus import CorpusCache
from alertbot.match import QueryError, parse_query
from alertbot.match.like import LIKE_EXCLUSION, is_like
from alertbot.model import Subscriber, Suggestion, SuggestionKind
from alertbot.readers import VocabularyCache
from alertbot.store import profiles as profile_store
from alertbot.store import subscribers as store
from alertbot.subscribers import suggestions
from alertbot.subscribers.refusals import AlreadyThere, NoSuchItem, QueryRefused, Refused, TooMany
from alertbot.subscribers.spec import QueryLimits


class ProfileMixin:
    engine: Engine
    settings: Settings
    now: Callable[[], datetime]
    limits: QueryLimits
    _corpus: CorpusCache
    _vocabulary: VocabularyCache

    # -- the profile --------------------------------------------------------------------

    def check_query(self, kind: str, query: str) -> str:
        """``query`` stripped, or :class:`QueryRefused` with the parser's column."""
        query = query.strip()
        try:
            if kind == "exclusion" and is_like(query):
                raise QueryError(LIKE_EXCLUSION, 1)
            parse_query(
                query, max_length=self.limits.max_length, max_clauses=self.limits.max_clauses
            )
        except QueryError as exc:
            raise QueryRefused(kind, query, exc) from None
        return query

    def add_interest(self, subscriber: Subscriber, query: str) -> tuple[Subscriber, int]:
        """Add an interest (refused past ``subscribe.max_interests``); returns its number.

        The cap and the duplicate check read the list as stored, under the lock, not as
        in ``subscriber`` (read earlier, maybe by another request)."""
        query = self.check_query("interest", query)
        cap = self.settings.subscribe.max_interests
        updated = profile_store.add_interest(
            self.engine,
            subscriber.id,
            query,
            now=self.now(),
            check=lambda current: self._check_new("interest", query, current, cap),
        )
        return updated, updated.profile.interests.index(query) + 1

    def add_exclusion(self, subscriber: Subscriber, query: str) -> tuple[Subscriber, int]:
        """Add an exclusion (refused past ``subscribe.max_exclusions``); returns its
        number. Checked as :meth:`add_interest` checks."""
        query = self.check_query("exclusion", query)
        cap = self.settings.subscribe.max_exclusions
        updated = profile_store.add_exclusion(
            self.engine,
            subscriber.id,
            query,
            now=self.now(),
            check=lambda current: self._check_new("exclusion", query, current, cap),
        )
        return updated, updated.profile.exclusions.index(query) + 1

    def replace_query(self, subscriber_id: int, kind: str, position: int, query: str) -> Subscriber:
        """Edit the interest or exclusion numbered ``position`` (1-based)."""
        query = self.check_query(kind, query)
        try:
            return profile_store.replace_query(
                self.engine, subscriber_id, kind, position, query, now=self.now()
            )
        except IndexError as exc:
            raise NoSuchItem(str(exc)) from None

    def remove_interest(self, subscriber_id: int, position: int) -> str:
        """Remove interest number ``position`` (1-based); returns its query."""
        try:
            return profile_store.remove_interest(
                self.engine, subscriber_id, position, now=self.now()
            )
        except IndexError as exc:
            raise NoSuchItem(str(exc)) from None

    def remove_exclusion(self, subscriber_id: int, position: int) -> str:
        """Remove exclusion number ``position`` (1-based); returns its query."""
        try:
            return profile_store.remove_exclusion(
                self.engine, subscriber_id, position, now=self.now()
            )
        except IndexError as exc:
            raise NoSuchItem(str(exc)) from None

    def clear_profile(self, subscriber_id: int) -> Subscriber:
        """Forget every interest and exclusion; schedule and channels stay."""
        return profile_store.clear_profile(self.engine, subscriber_id, now=self.now())

    # -- suggestions from feedback ------------------------------------------------------

    def suggestions_for(self, subscriber_id: int) -> tuple[Suggestion, ...]:
        """The query changes the subscriber's feedback argues for (none without feedback)."""
        sub = store.get_subscriber(self.engine, subscriber_id)
        if sub is None:
            raise store.NotFound(f"no subscriber with id {subscriber_id}")
        found = suggestions.suggestions_for(
            self.engine, self.settings, sub, now=self.now(), corpus=self._corpus,
            vocabulary=self._vocabulary,
        )  # fmt: skip
        return tuple(found)

    def accept_suggestion(
        self, subscriber: Subscriber, kind: SuggestionKind, query: str
    ) -> tuple[Subscriber, int]:
        """A suggestion accepted: an ordinary interest or exclusion from then on (parsed,
        capped and refused when already there like any other); returns its number."""
        if kind == "interest":
            return self.add_interest(subscriber, query)
        if kind == "exclusion":
            return self.add_exclusion(subscriber, query)
        raise Refused(f"a suggestion is an interest or an exclusion, not {kind!r}")

    def _check_new(self, kind: str, query: str, current: Sequence[str], cap: int) -> None:
        if query in current:
            position = current.index(query) + 1
            raise AlreadyThere(f"{kind} {query!r} is there already (number {position})", position)
        if len(current) >= cap:
            raise TooMany(f"{len(current)} {kind}s is the most allowed; remove one first")

"""What a failed delivery attempt means, as one value, and everything that follows from it.

A channel says what happened by raising :class:`~alertbot.deliver.base.DeliveryError`
with an :class:`Outcome`. :data:`HANDLING` is the one table from outcome to the row's
next state, what happens to the endpoint, and whether the relay's circuit breaker counts
it; :func:`after_failure` adds time (backoff, ``Retry-After``, the deadline). Nothing
else in alertbot decides these, and the metrics label failures by outcome.

Retrying stops at a deadline rather than after a number of attempts: by default when
the endpoint's next digest is due, so a relay down for hours delays a digest instead of
killing it, and a digest given up hands its papers to the next one (``dead`` digests'
papers are candidates again: ``alertbot/store/candidates.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from alertbot.model import OutboxState, Subscriber
from alertbot.schedule.due import next_send_at


class Outcome(enum.StrEnum):
    """How one attempt failed, as the far side made it known."""

    TRANSIENT = "transient"  # this message refused for now: SMTP 4xx, Slack 5xx
    RELAY_DOWN = "relay_down"  # no connection, or silence before anything was handed over
    RATE_LIMITED = "rate_limited"  # asked to come back later: Slack's 429 Retry-After
    CREDENTIALS_BROKEN = "credentials_broken"  # our login or token refused
    PERMANENT = "permanent"  # this message will never be taken: SMTP 5xx, invalid_blocks
    ENDPOINT_GONE = "endpoint_gone"  # the destination no longer exists: channel_not_found
    MAYBE_DELIVERED = "maybe_delivered"  # silence after the hand-over: it may have arrived


@dataclass(frozen=True, slots=True)
class Handling:
    """What follows from one outcome.

    ``state``: the row's next state (``failed`` is retried until the deadline).
    ``disable_endpoint``: the endpoint is switched off, the error as the reason.
    ``counts_against_relay``: a failure of the relay itself, not of this message; enough
    of them in a row open the relay's breaker (``delivery.breaker_failures``).
    ``alarm``: the operator must act (logged as an error, not a warning).
    """

    state: OutboxState
    disable_endpoint: bool = False
    counts_against_relay: bool = False
    alarm: bool = False


HANDLING: dict[Outcome, Handling] = {
    Outcome.TRANSIENT: Handling(OutboxState.FAILED),
    Outcome.RELAY_DOWN: Handling(OutboxState.FAILED, counts_against_relay=True),
    Outcome.RATE_LIMITED: Handling(OutboxState.FAILED),
    # Our configuration, not the reader, is wrong: disabling would switch off every reader
    # at once; the digests go out once it is fixed.
    Outcome.CREDENTIALS_BROKEN: Handling(OutboxState.FAILED, counts_against_relay=True, alarm=True),
    Outcome.PERMANENT: Handling(OutboxState.DEAD),
    Outcome.ENDPOINT_GONE: Handling(OutboxState.DEAD, disable_endpoint=True),
    Outcome.MAYBE_DELIVERED: Handling(OutboxState.UNKNOWN, alarm=True),
}


def backoff_seconds(attempts: int, *, base: float, cap: float, jitter: float) -> float:
    """Delay before retry number ``attempts`` (1 = first retry): ``min(cap, base * 2^(n-1))``.

    ``jitter`` in [0, 1] scales the delay into its upper half ("equal jitter"), so
    rows that failed together (a relay outage) do not all come back at once.
    """
    delay = min(cap, base * 2.0 ** max(attempts - 1, 0))
    return delay * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))


@dataclass(frozen=True, slots=True)
class Verdict:
    """The row's next state after a failure, when it is tried again, and the note."""

    state: OutboxState
    next_attempt_at: datetime
    note: str


def after_failure(
    outcome: Outcome,
    error: str,
    *,
    attempts: int,
    now: datetime,
    deadline: datetime,
    retry_after: float | None,
    base_seconds: float,
    max_seconds: float,
    jitter: float,
) -> Verdict:
    """Where a row goes after failing its ``attempts``-th attempt with ``outcome``.

    A retryable failure comes back after the capped exponential backoff (or the far
    side's ``Retry-After``), unless that would be at or after the deadline: then the
    digest is dead at once, so it is over before its successor is queued and its papers
    go into that one rather than the one after.
    """
    state = HANDLING[outcome].state
    if state != OutboxState.FAILED:
        return Verdict(state, now, error)
    if retry_after is not None:
        delay = retry_after
    else:
        delay = backoff_seconds(attempts, base=base_seconds, cap=max_seconds, jitter=jitter)
    retry_at = now + timedelta(seconds=delay)
    if retry_at >= deadline:
        note = f"{error} (gave up: the deadline {deadline:%Y-%m-%d %H:%M} UTC came)"
        return Verdict(OutboxState.DEAD, now, note)
    return Verdict(OutboxState.FAILED, retry_at, error)


def deadline(
    subscriber: Subscriber, digest_date: date, *, first_attempt: datetime, hours: float | None
) -> datetime:
    """When a digest that keeps failing gives up, fixed at its first attempt:
    ``hours`` after it when set, else the moment the endpoint's next digest is due."""
    if hours is not None:
        return first_attempt + timedelta(hours=hours)
    return next_send_at(subscriber, first_attempt, digest_date)

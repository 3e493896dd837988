"""One outcome per failed attempt, and the one table of what follows from it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from alertbot.deliver.email import reply_outcome
from alertbot.deliver.outcome import HANDLING, Outcome, after_failure, deadline
from alertbot.deliver.slack import classify
from alertbot.model import Frequency, OutboxState, Profile, Subscriber

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday


def test_every_outcome_has_one_row_in_the_table() -> None:
    """No outcome is left to an ``if`` somewhere else."""
    assert set(HANDLING) == set(Outcome)


@pytest.mark.parametrize(
    ("outcome", "state", "disable", "relay"),
    [
        (Outcome.TRANSIENT, OutboxState.FAILED, False, False),
        (Outcome.RELAY_DOWN, OutboxState.FAILED, False, True),
        (Outcome.RATE_LIMITED, OutboxState.FAILED, False, False),
        (Outcome.CREDENTIALS_BROKEN, OutboxState.FAILED, False, True),
        (Outcome.PERMANENT, OutboxState.DEAD, False, False),
        (Outcome.ENDPOINT_GONE, OutboxState.DEAD, True, False),
        (Outcome.MAYBE_DELIVERED, OutboxState.UNKNOWN, False, False),
    ],
)
def test_each_outcome_leads_to_its_state_endpoint_action_and_breaker_count(
    outcome: Outcome, state: OutboxState, disable: bool, relay: bool
) -> None:
    """The table: the row's next state, whether the endpoint is disabled, whether the
    relay's breaker counts it."""
    handling = HANDLING[outcome]
    assert (handling.state, handling.disable_endpoint, handling.counts_against_relay) == (
        state,
        disable,
        relay,
    )


def _verdict(outcome: Outcome, **kw: object) -> tuple[OutboxState, datetime]:
    args: dict[str, object] = {
        "attempts": 1,
        "now": NOW,
        "deadline": NOW + timedelta(hours=20),
        "retry_after": None,
        "base_seconds": 60.0,
        "max_seconds": 1800.0,
        "jitter": 1.0,
    }
    args.update(kw)
    verdict = after_failure(outcome, "boom", **args)  # type: ignore[arg-type]
    return verdict.state, verdict.next_attempt_at


def test_a_retry_after_is_honoured_instead_of_the_backoff() -> None:
    """Slack's Retry-After of an hour schedules the row an hour on, whatever the backoff."""
    assert _verdict(Outcome.RATE_LIMITED, retry_after=3600.0) == (
        OutboxState.FAILED,
        NOW + timedelta(hours=1),
    )


def test_a_retry_that_would_come_at_the_deadline_ends_the_digest_now() -> None:
    """When the next retry would be at or after the deadline, the digest is dead at once
    (before its successor is queued), with the deadline in its note."""
    verdict = after_failure(
        Outcome.TRANSIENT,
        "451",
        attempts=9,
        now=NOW,
        deadline=NOW + timedelta(minutes=10),
        retry_after=None,
        base_seconds=60,
        max_seconds=1800,
        jitter=0.0,
    )
    assert (verdict.state, "deadline" in verdict.note) == (OutboxState.DEAD, True)


@given(
    attempts=st.integers(min_value=1, max_value=60),
    jitter=st.floats(min_value=0, max_value=1),
    hours_left=st.floats(min_value=0, max_value=48),
)
def test_a_failed_row_is_always_retried_before_its_deadline(
    attempts: int, jitter: float, hours_left: float
) -> None:
    """Whatever the attempt and jitter: failed means a retry strictly before the
    deadline, and past it the digest is dead."""
    end = NOW + timedelta(hours=hours_left)
    state, retry_at = _verdict(Outcome.RELAY_DOWN, attempts=attempts, jitter=jitter, deadline=end)
    if state == OutboxState.FAILED:
        assert NOW < retry_at < end
    else:
        assert state == OutboxState.DEAD


def test_the_default_deadline_is_when_the_next_digest_is_due() -> None:
    """Daily at 08:00: Monday's digest is retried until Tuesday 08:00; weekdays: Friday's
    until Monday 08:00; with ``retry_hours`` it is that long after the first attempt."""
    daily = Subscriber(id=1, name="R", profile=Profile(), send_time=time(8, 0))
    weekdays = Subscriber(
        id=2, name="W", profile=Profile(), send_time=time(8, 0), frequency=Frequency.WEEKDAYS
    )
    friday = datetime(2026, 3, 6, 9, 30, tzinfo=UTC)
    assert deadline(daily, date(2026, 3, 2), first_attempt=NOW, hours=None) == datetime(
        2026, 3, 3, 8, 0, tzinfo=UTC
    )
    assert deadline(weekdays, date(2026, 3, 6), first_attempt=friday, hours=None) == datetime(
        2026, 3, 9, 8, 0, tzinfo=UTC
    )
    assert deadline(daily, date(2026, 3, 2), first_attempt=NOW, hours=5) == NOW + timedelta(hours=5)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (451, Outcome.TRANSIENT),
        (452, Outcome.TRANSIENT),
        (421, Outcome.RELAY_DOWN),
        (530, Outcome.CREDENTIALS_BROKEN),
        (535, Outcome.CREDENTIALS_BROKEN),
        (550, Outcome.PERMANENT),
        (554, Outcome.PERMANENT),
    ],
)
def test_an_smtp_refusal_maps_to_one_outcome(code: int, outcome: Outcome) -> None:
    """4xx transient, 5xx permanent, but 421 is the relay closing and 530/535 our login."""
    assert reply_outcome(code) == outcome


def _slack_error(error: str, status: int = 200, headers: dict[str, str] | None = None) -> Exception:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": error},
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError(error, response)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("exc", "outcome", "retry_after"),
    [
        (_slack_error("ratelimited", 429, {"Retry-After": "3600"}), Outcome.RATE_LIMITED, 3600.0),
        (_slack_error("channel_not_found"), Outcome.ENDPOINT_GONE, None),
        (_slack_error("token_revoked"), Outcome.CREDENTIALS_BROKEN, None),
        (_slack_error("invalid_blocks"), Outcome.PERMANENT, None),
        (_slack_error("internal_error", 500), Outcome.TRANSIENT, None),
        (TimeoutError("timed out"), Outcome.MAYBE_DELIVERED, None),
        (ConnectionResetError("reset"), Outcome.MAYBE_DELIVERED, None),
    ],
    ids=["429", "gone", "token", "blocks", "500", "timeout", "reset"],
)
def test_a_slack_failure_of_a_post_maps_to_one_outcome(
    exc: Exception, outcome: Outcome, retry_after: float | None
) -> None:
    """What Slack said (or did not say) about a chat.postMessage, as one outcome."""
    error = classify(exc, posting=True)
    assert (error.outcome, error.retry_after) == (outcome, retry_after)


def test_a_timeout_of_a_call_that_posts_nothing_is_only_transient() -> None:
    """conversations.open timing out cannot have posted a digest."""
    assert classify(TimeoutError("timed out")).outcome == Outcome.TRANSIENT

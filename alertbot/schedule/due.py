"""When a subscriber's digest is due: pure functions of the subscriber and ``now``.

The outbox is keyed by (endpoint, *local* digest date), so every rule here is about
which local calendar date is due. The rules, and the decisions behind them:

* A date is due once the subscriber's send time on that date has passed (in their zone)
  and their frequency allows that date: every day (daily), Monday-Friday (weekdays), or
  one day of the week (weekly). Only a date *after* the last one queued can be due, so a
  date is never queued twice, whatever the clocks do.
* After downtime only the **latest** due date is returned: three days down gives one
  digest (its content is "papers since the last digest sent", so nothing is lost).
  Coming back shortly before today's send time gives yesterday's digest at once and
  today's at its usual time; the second holds only what arrived in between.
* Spring forward (a send time that does not exist that day, e.g. 02:30 in Europe/Paris
  on the last Sunday of March): we read the wall time with the offset in force *before*
  the jump (``fold=0``), so the digest goes at 03:30 CEST, the moment that is 02:30
  by the clock that has not been moved forward yet. One digest that day.
* Fall back (a send time that happens twice, e.g. 01:30 in America/New_York on the
  first Sunday of November): the first occurrence (``fold=0``, EDT) counts. The second
  01:30 finds that date already queued, so there is no second digest.
* Moving time zone: dates are compared, not instants. Moving east can make the next
  local date due a few hours after the last digest (a day that the traveller skipped);
  moving west makes the already-sent local date come round again, and it is not sent
  again (it is not after the last one queued). No double, no missed date.
* A subscriber with nothing queued yet (``last_digest_date`` None) gets a digest at once
  only if today's (local) one is due; otherwise the first is the next regular one. A new
  daily subscriber at 07:00 with an 08:00 send time waits for 08:00 rather than getting
  yesterday's digest at 07:00 and today's an hour later; a weekly one who signs up on a
  Wednesday starts next week.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from alertbot.model import Frequency, Subscriber

# Far enough back to find the latest allowed date of any frequency: a weekly digest
# whose day is today but whose time has not come yet was last due 7 days ago.
_LOOKBACK_DAYS = 7


def zone(name: str) -> ZoneInfo:
    """The subscriber's zone; raises ``ZoneInfoNotFoundError`` for an unknown name."""
    return ZoneInfo(name)


def allows(frequency: Frequency, weekly_day: int, day: date) -> bool:
    """Whether ``frequency`` sends a digest on the local date ``day``."""
    if frequency is Frequency.WEEKDAYS:
        return day.weekday() < 5
    if frequency is Frequency.WEEKLY:
        return day.weekday() == weekly_day
    return True


def send_instant(day: date, send_time: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of ``send_time`` on the local date ``day`` in ``tz``.

    A wall time skipped by a spring-forward jump resolves with the offset before the jump
    (later by the jump's length); one that happens twice resolves to the first.
    """
    local = datetime.combine(day, send_time.replace(tzinfo=None, fold=0), tzinfo=tz)
    return local.astimezone(UTC)


def latest_due_date(subscriber: Subscriber, now: datetime) -> date | None:
    """The latest local date whose send time has passed and that the frequency allows."""
    tz = zone(subscriber.timezone)
    today = now.astimezone(tz).date()
    for back in range(_LOOKBACK_DAYS + 1):
        day = today - timedelta(days=back)
        if not allows(subscriber.frequency, subscriber.weekly_day, day):
            continue
        if send_instant(day, subscriber.send_time, tz) <= now:
            return day
    return None


def due_digest_date(
    subscriber: Subscriber, now: datetime, last_digest_date: date | None
) -> date | None:
    """The local date whose digest is due at ``now``, or None if none is.

    Due means: the subscriber is active, their send time on that date has passed, their
    frequency allows that date, and it is later than ``last_digest_date`` (the latest
    date already queued). After downtime only the latest due date is returned.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not subscriber.active:
        return None
    day = latest_due_date(subscriber, now)
    if day is None:
        return None
    if last_digest_date is None:
        # A newcomer starts with today's digest or waits for the next one, never with
        # an old one (see the module docstring).
        today = now.astimezone(zone(subscriber.timezone)).date()
        return day if day == today else None
    return day if day > last_digest_date else None


def next_send_at(subscriber: Subscriber, now: datetime, last_digest_date: date | None) -> datetime:
    """The UTC instant at which the next digest after ``now`` becomes due.

    For display ("your next digest: ..."); a digest due right now is reported as ``now``.
    """
    if due_digest_date(subscriber, now, last_digest_date) is not None:
        return now
    tz = zone(subscriber.timezone)
    today = now.astimezone(tz).date()
    for ahead in range(_LOOKBACK_DAYS * 2 + 2):
        day = today + timedelta(days=ahead)
        if not allows(subscriber.frequency, subscriber.weekly_day, day):
            continue
        if last_digest_date is not None and day <= last_digest_date:
            continue
        instant = send_instant(day, subscriber.send_time, tz)
        if instant > now:
            return instant
    raise ValueError(f"no send time within two weeks for subscriber {subscriber.id}")

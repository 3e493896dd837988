"""Due-time rules: which local date's digest is due at a given instant.

Expected instants are worked out by hand from each zone's UTC offset on that date
(the comments give the local wall time), not copied from the code's output.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from alertbot.model import Frequency, Profile, Subscriber
from alertbot.schedule.due import due_digest_date, next_send_at


def sub(
    tz: str = "UTC",
    at: str = "08:00",
    frequency: Frequency = Frequency.DAILY,
    weekly_day: int = 0,
    *,
    active: bool = True,
) -> Subscriber:
    hour, minute = (int(part) for part in at.split(":"))
    return Subscriber(
        id=1,
        name="ada",
        profile=Profile(),
        timezone=tz,
        send_time=time(hour, minute),
        frequency=frequency,
        weekly_day=weekly_day,
        active=active,
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def d(text: str) -> date:
    return date.fromisoformat(text)


DAILY = Frequency.DAILY
WEEKLY = Frequency.WEEKLY
WEEKDAYS = Frequency.WEEKDAYS

# (case id, subscriber, now in UTC, last digest date queued, expected due date)
TABLE = [
    # UTC: the send time is the UTC time.
    ("utc-before", sub(), "2026-03-10 07:59", "2026-03-09", None),
    ("utc-at", sub(), "2026-03-10 08:00", "2026-03-09", "2026-03-10"),
    ("utc-already-queued", sub(), "2026-03-10 23:59", "2026-03-10", None),
    ("utc-just-after-midnight", sub(), "2026-03-11 00:01", "2026-03-10", None),
    # Europe/Paris: UTC+1 in winter, UTC+2 in summer.
    ("paris-winter-before", sub("Europe/Paris"), "2026-01-15 06:59", "2026-01-14", None),
    ("paris-winter-at", sub("Europe/Paris"), "2026-01-15 07:00", "2026-01-14", "2026-01-15"),
    ("paris-summer-before", sub("Europe/Paris"), "2026-07-01 05:59", "2026-06-30", None),
    ("paris-summer-at", sub("Europe/Paris"), "2026-07-01 06:00", "2026-06-30", "2026-07-01"),
    # America/New_York: UTC-5 in winter, so 08:00 is 13:00 UTC.
    ("ny-winter-before", sub("America/New_York"), "2026-01-15 12:59", "2026-01-14", None),
    ("ny-winter-at", sub("America/New_York"), "2026-01-15 13:00", "2026-01-14", "2026-01-15"),
    # 23:00 UTC on the 15th is 18:00 on the 15th in New York: still the 15th there.
    ("ny-evening", sub("America/New_York"), "2026-01-15 23:00", "2026-01-15", None),
    # Asia/Kolkata: UTC+5:30, no DST; 08:00 is 02:30 UTC.
    ("kolkata-before", sub("Asia/Kolkata"), "2026-05-05 02:29", "2026-05-04", None),
    ("kolkata-at", sub("Asia/Kolkata"), "2026-05-05 02:30", "2026-05-04", "2026-05-05"),
    # 04:00 in Kolkata is 22:30 UTC the day before: the local date is already the 5th.
    (
        "kolkata-date-ahead",
        sub("Asia/Kolkata", "04:00"),
        "2026-05-04 22:30",
        "2026-05-04",
        "2026-05-05",
    ),
    # Pacific/Chatham: UTC+13:45 in (southern) summer, UTC+12:45 in winter.
    ("chatham-summer-before", sub("Pacific/Chatham"), "2026-01-14 18:14", "2026-01-14", None),
    ("chatham-summer-at", sub("Pacific/Chatham"), "2026-01-14 18:15", "2026-01-14", "2026-01-15"),
    ("chatham-winter-before", sub("Pacific/Chatham"), "2026-07-14 19:14", "2026-07-14", None),
    ("chatham-winter-at", sub("Pacific/Chatham"), "2026-07-14 19:15", "2026-07-14", "2026-07-15"),
    # Spring forward, Europe/Paris, Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST, so
    # 02:30 does not exist; it is read as 02:30 CET = 01:30 UTC = 03:30 CEST.
    (
        "paris-spring-0329-before",
        sub("Europe/Paris", "02:30"),
        "2026-03-29 01:29",
        "2026-03-28",
        None,
    ),
    (
        "paris-spring-0329-at",
        sub("Europe/Paris", "02:30"),
        "2026-03-29 01:30",
        "2026-03-28",
        "2026-03-29",
    ),
    # An 08:00 send on that day is 08:00 CEST = 06:00 UTC (the new offset).
    ("paris-spring-0800-before", sub("Europe/Paris"), "2026-03-29 05:59", "2026-03-28", None),
    ("paris-spring-0800-at", sub("Europe/Paris"), "2026-03-29 06:00", "2026-03-28", "2026-03-29"),
    # Fall back, Europe/Paris, Sunday 2026-10-25: 02:30 happens at 00:30 and 01:30 UTC;
    # the first counts and the second finds the date queued.
    (
        "paris-fall-first",
        sub("Europe/Paris", "02:30"),
        "2026-10-25 00:30",
        "2026-10-24",
        "2026-10-25",
    ),
    ("paris-fall-second", sub("Europe/Paris", "02:30"), "2026-10-25 01:30", "2026-10-25", None),
    # Fall back, America/New_York, Sunday 2026-11-01: 01:30 EDT = 05:30 UTC, then
    # 01:30 EST = 06:30 UTC.
    ("ny-fall-before", sub("America/New_York", "01:30"), "2026-11-01 05:29", "2026-10-31", None),
    (
        "ny-fall-first",
        sub("America/New_York", "01:30"),
        "2026-11-01 05:30",
        "2026-10-31",
        "2026-11-01",
    ),
    ("ny-fall-second", sub("America/New_York", "01:30"), "2026-11-01 06:30", "2026-11-01", None),
    # Spring forward, America/New_York, 2026-03-08: 02:30 is read as 02:30 EST = 07:30 UTC.
    ("ny-spring-before", sub("America/New_York", "02:30"), "2026-03-08 07:29", "2026-03-07", None),
    (
        "ny-spring-at",
        sub("America/New_York", "02:30"),
        "2026-03-08 07:30",
        "2026-03-07",
        "2026-03-08",
    ),
    # Weekly on Monday (0), Paris 08:00 = 07:00 UTC in March; 2026-03-02 and -09 are Mondays.
    (
        "weekly-midweek",
        sub("Europe/Paris", frequency=WEEKLY),
        "2026-03-04 12:00",
        "2026-03-02",
        None,
    ),
    (
        "weekly-monday-before",
        sub("Europe/Paris", frequency=WEEKLY),
        "2026-03-09 06:59",
        "2026-03-02",
        None,
    ),
    (
        "weekly-monday-at",
        sub("Europe/Paris", frequency=WEEKLY),
        "2026-03-09 07:00",
        "2026-03-02",
        "2026-03-09",
    ),
    # Down for ten days over a Monday: that Monday's digest, once.
    (
        "weekly-downtime",
        sub("Europe/Paris", frequency=WEEKLY),
        "2026-03-11 12:00",
        "2026-02-23",
        "2026-03-09",
    ),
    # Weekly on Friday (4).
    (
        "weekly-friday",
        sub(frequency=WEEKLY, weekly_day=4),
        "2026-03-06 08:00",
        "2026-02-27",
        "2026-03-06",
    ),
    # Weekdays: nothing new at the weekend; Monday before 08:00 owes Friday's only if missed.
    ("weekdays-saturday", sub(frequency=WEEKDAYS), "2026-03-07 12:00", "2026-03-06", None),
    ("weekdays-sunday", sub(frequency=WEEKDAYS), "2026-03-08 12:00", "2026-03-06", None),
    ("weekdays-monday-early", sub(frequency=WEEKDAYS), "2026-03-09 07:00", "2026-03-06", None),
    (
        "weekdays-missed-friday",
        sub(frequency=WEEKDAYS),
        "2026-03-08 12:00",
        "2026-03-05",
        "2026-03-06",
    ),
    ("weekdays-monday-at", sub(frequency=WEEKDAYS), "2026-03-09 08:00", "2026-03-06", "2026-03-09"),
    # Downtime of hours: the service was down from 07:00 to 20:00 UTC.
    ("down-hours", sub(), "2026-03-10 20:00", "2026-03-09", "2026-03-10"),
    # Downtime of days: last digest the 7th, back on the 10th after 08:00: one, the 10th.
    ("down-days-after-send-time", sub(), "2026-03-10 09:00", "2026-03-07", "2026-03-10"),
    # ... back before 08:00: one, the 9th (the 10th follows at 08:00).
    ("down-days-before-send-time", sub(), "2026-03-10 07:00", "2026-03-07", "2026-03-09"),
    ("down-weeks", sub("Asia/Kolkata"), "2026-04-20 12:00", "2026-03-01", "2026-04-20"),
    # Nothing queued yet: today's digest if its time passed, else wait.
    ("new-after-send-time", sub(), "2026-03-10 09:00", None, "2026-03-10"),
    ("new-before-send-time", sub(), "2026-03-10 07:00", None, None),
    ("new-weekly-midweek", sub(frequency=WEEKLY), "2026-03-04 09:00", None, None),
    ("new-weekly-on-its-day", sub(frequency=WEEKLY), "2026-03-09 09:00", None, "2026-03-09"),
    ("inactive", sub(active=False), "2026-03-10 09:00", "2026-03-01", None),
]


@pytest.mark.parametrize(
    ("subscriber", "now", "last", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in TABLE],
)
def test_it_finds_the_local_date_that_is_due(
    subscriber: Subscriber, now: str, last: str | None, expected: str | None
) -> None:
    """The due date follows the subscriber's zone, frequency, DST and the last date queued."""
    due = due_digest_date(subscriber, utc(now), d(last) if last else None)
    assert due == (d(expected) if expected else None)


def simulate(
    subscriber_at: Callable[[datetime], Subscriber],
    start: str,
    end: str,
    *,
    last: str | None,
    step: timedelta = timedelta(minutes=5),
) -> list[tuple[datetime, date]]:
    """Tick like the dispatcher from start to end; returns (instant, date) per digest queued."""
    queued: list[tuple[datetime, date]] = []
    last_date = d(last) if last else None
    now = utc(start)
    while now < utc(end):
        due = due_digest_date(subscriber_at(now), now, last_date)
        if due is not None:
            queued.append((now, due))
            last_date = due
        now += step
    return queued


@pytest.mark.parametrize(
    ("tz", "at", "start", "end"),
    [
        pytest.param(
            "Europe/Paris", "02:30", "2026-03-27 00:00", "2026-04-01 00:00", id="paris-spring"
        ),
        pytest.param(
            "Europe/Paris", "02:30", "2026-10-23 00:00", "2026-10-28 00:00", id="paris-fall"
        ),
        pytest.param(
            "America/New_York", "01:30", "2026-10-30 00:00", "2026-11-04 00:00", id="ny-fall"
        ),
        pytest.param(
            "America/New_York", "02:30", "2026-03-06 00:00", "2026-03-11 00:00", id="ny-spring"
        ),
        pytest.param(
            "Pacific/Chatham", "03:15", "2026-04-02 00:00", "2026-04-07 00:00", id="chatham"
        ),
    ],
)
def test_it_queues_exactly_one_digest_per_local_day_across_dst(
    tz: str, at: str, start: str, end: str
) -> None:
    """Ticking every 5 minutes through a DST change queues each local date exactly once."""
    subscriber = sub(tz, at)
    first = utc(start).astimezone(ZoneInfo(tz)).date()
    queued = simulate(lambda _now: subscriber, start, end, last=str(first - timedelta(days=1)))
    dates = [day for _, day in queued]
    last_local = (utc(end) - timedelta(minutes=5)).astimezone(ZoneInfo(tz)).date()
    expected = [first + timedelta(days=i) for i in range((last_local - first).days + 1)]
    # The last local day may not have reached its send time before `end`.
    assert dates in (expected, expected[:-1])
    for instant, day in queued:
        assert instant.astimezone(ZoneInfo(tz)).date() == day


def test_it_sends_the_nonexistent_spring_forward_time_an_hour_late() -> None:
    """02:30 on the Paris spring-forward day goes out at 03:30 CEST (01:30 UTC)."""
    queued = simulate(
        lambda _now: sub("Europe/Paris", "02:30"),
        "2026-03-28 23:00",
        "2026-03-29 23:00",
        last="2026-03-28",
        step=timedelta(minutes=1),
    )
    assert queued == [(utc("2026-03-29 01:30"), d("2026-03-29"))]


def test_it_sends_the_repeated_fall_back_time_once_at_its_first_occurrence() -> None:
    """01:30 on the New York fall-back day goes out at 01:30 EDT only, not again at EST."""
    queued = simulate(
        lambda _now: sub("America/New_York", "01:30"),
        "2026-11-01 03:00",
        "2026-11-02 03:00",
        last="2026-10-31",
        step=timedelta(minutes=1),
    )
    assert queued == [(utc("2026-11-01 05:30"), d("2026-11-01"))]


def moving(before: str, after: str, at: str) -> Callable[[datetime], Subscriber]:
    """A subscriber whose zone changes from ``before`` to ``after`` at the instant ``at``."""
    return lambda now: sub(before if now < utc(at) else after)


def test_it_neither_doubles_nor_skips_when_moving_west() -> None:
    """Kolkata -> New York after the day's digest: the same local date is not sent again."""
    # The 10th goes at 02:30 UTC (08:00 IST); the move at 03:00 UTC lands at 23:00 EDT on
    # the 9th, whose 08:00 has passed but whose date is older than the one sent.
    queued = simulate(
        moving("Asia/Kolkata", "America/New_York", "2026-06-10 03:00"),
        "2026-06-10 00:00",
        "2026-06-12 00:00",
        last="2026-06-09",
    )
    assert queued == [
        (utc("2026-06-10 02:30"), d("2026-06-10")),
        (utc("2026-06-11 12:00"), d("2026-06-11")),  # 08:00 EDT
    ]


def test_it_neither_doubles_nor_skips_when_moving_east() -> None:
    """New York -> Kolkata after the day's digest: the next local date comes at 08:00 IST."""
    queued = simulate(
        moving("America/New_York", "Asia/Kolkata", "2026-06-10 13:00"),
        "2026-06-10 00:00",
        "2026-06-12 00:00",
        last="2026-06-09",
    )
    assert queued == [
        (utc("2026-06-10 12:00"), d("2026-06-10")),  # 08:00 EDT
        (utc("2026-06-11 02:30"), d("2026-06-11")),  # 08:00 IST
    ]


def test_it_sends_the_next_date_at_once_when_moving_east_across_the_date_line() -> None:
    """Pago Pago -> Kiritimati jumps a calendar day: that new date's digest is due at once."""
    # 08:00 in Pago Pago (UTC-11) is 19:00 UTC; at 20:00 UTC it is already 10:00 on the
    # next day in Kiritimati (UTC+14), whose 08:00 has passed.
    queued = simulate(
        moving("Pacific/Pago_Pago", "Pacific/Kiritimati", "2026-06-10 20:00"),
        "2026-06-10 12:00",
        "2026-06-11 23:00",
        last="2026-06-09",
    )
    assert queued == [
        (utc("2026-06-10 19:00"), d("2026-06-10")),
        (utc("2026-06-10 20:00"), d("2026-06-11")),
        (utc("2026-06-11 18:00"), d("2026-06-12")),  # 08:00 in Kiritimati
    ]


def test_it_never_repeats_a_date_when_moving_west_across_the_date_line() -> None:
    """Kiritimati -> Pago Pago relives two dates already served: neither is sent again."""
    queued = simulate(
        moving("Pacific/Kiritimati", "Pacific/Pago_Pago", "2026-06-10 19:00"),
        "2026-06-10 12:00",
        "2026-06-13 00:00",
        last="2026-06-10",
    )
    # Kiritimati's 11th went at 18:00 UTC on the 10th; Pago Pago's 10th and 11th are not
    # after it, so the next is Pago Pago's 12th at 19:00 UTC.
    assert queued == [
        (utc("2026-06-10 18:00"), d("2026-06-11")),
        (utc("2026-06-12 19:00"), d("2026-06-12")),
    ]
    dates = [day for _, day in queued]
    assert dates == sorted(set(dates))


def test_it_sends_one_digest_after_three_days_down() -> None:
    """Coming back after three days queues one digest, for the latest due date only."""
    subscriber = sub("Europe/Paris")
    back = utc("2026-05-14 10:00")  # 12:00 CEST, after the 08:00 send
    queued = simulate(
        lambda _now: subscriber, "2026-05-14 10:00", "2026-05-15 00:00", last="2026-05-11"
    )
    assert queued == [(back, d("2026-05-14"))]


def test_it_reports_the_next_send_instant() -> None:
    """next_send_at gives the next local send time in UTC, skipping dates already queued."""
    subscriber = sub("Asia/Kolkata")
    assert next_send_at(subscriber, utc("2026-05-05 03:00"), d("2026-05-05")) == utc(
        "2026-05-06 02:30"
    )
    assert next_send_at(subscriber, utc("2026-05-05 03:00"), d("2026-05-04")) == utc(
        "2026-05-05 03:00"
    )


def test_it_refuses_a_naive_now() -> None:
    """A naive datetime is a bug in the caller, not a UTC time."""
    with pytest.raises(ValueError, match="aware"):
        due_digest_date(sub(), datetime(2026, 3, 10, 9, 0), None)

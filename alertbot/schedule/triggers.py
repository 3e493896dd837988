"""Schedules as users write them: crontab lines (UTC) and ``every 30m``.

Turned into APScheduler 3 triggers here, for the settings check and the service alike.
"""

from __future__ import annotations

import re
from datetime import UTC

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

EVERY = re.compile(r"^every\s+(?P<n>\d+)\s*(?P<unit>s|m|h|d)$", re.IGNORECASE)


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMERIC_DAYS = re.compile(r"^(?P<start>\d)(?:-(?P<end>\d))?(?:/(?P<step>\d+))?$")


def crontab(text: str) -> str:
    """A crontab line as APScheduler 3 reads it.

    APScheduler numbers weekdays from Monday = 0, crontab from Sunday = 0 (7 is Sunday
    too), so "1-5" would silently mean Tuesday-Saturday: numeric days are turned into
    names ("mon,tue,wed,thu,fri"). Names, "*" and the other fields pass through.
    """
    fields = text.split()
    if len(fields) != 5:
        return text
    items = []
    for item in fields[4].split(","):
        if item.startswith("*/"):
            item = "0-6" + item[1:]
        m = _NUMERIC_DAYS.match(item)
        if not m:
            items.append(item)
            continue
        start = int(m["start"])
        end = int(m["end"]) if m["end"] is not None else start
        if start > 7 or end > 7 or end < start:
            items.append(item)  # let APScheduler report it
            continue
        step = int(m["step"] or 1)
        items += [_CRON_DAYS[day % 7] for day in range(start, end + 1, step)]
    fields[4] = ",".join(dict.fromkeys(items))
    return " ".join(fields)


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_schedule(text: str) -> BaseTrigger:
    """A trigger from a crontab line (UTC) or ``every N[s|m|h|d]``; ValueError if neither.

    Crontab weekdays keep their crontab meaning (0 and 7 are Sunday), see :func:`crontab`.
    """
    match = EVERY.match(text.strip())
    if match:
        seconds = int(match["n"]) * _UNIT_SECONDS[match["unit"].lower()]
        if seconds <= 0:
            raise ValueError(f"{text!r}: the interval must be positive")
        return IntervalTrigger(seconds=seconds, timezone=UTC)
    try:
        return CronTrigger.from_crontab(crontab(text.strip()), timezone=UTC)
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is neither a crontab line ('0 */2 * * *') nor 'every 30m': {exc}"
        ) from None

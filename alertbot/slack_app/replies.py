"""The texts the Slack app answers with.

Slack reads ``&``, ``<`` and ``>`` as control characters (``<!channel>``, ``<@U123>``,
``<https://x|label>``), so every piece of user text goes through :func:`escape` before it
is put into a reply: ``/subscribe <!channel>`` then pings nobody. The fixed texts here
use no ``<``, so a reply never contains an unescaped one.
"""

from __future__ import annotations

from datetime import datetime, time

from alertbot.model import Endpoint, EndpointKind, Frequency, Subscriber
from alertbot.store.outgoing_mail import MailLimits, MailVerdict

ECHO_CHARS = 200
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def escape(text: str) -> str:
    """``text`` safe inside a Slack message: ``&``, ``<``, ``>`` as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def echo(text: str, limit: int = ECHO_CHARS) -> str:
    """User text to quote back: one line, shortened, escaped, in backticks."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    # A backtick inside would end the code span early; a look-alike keeps it readable.
    return "`" + escape(flat.replace("`", "ˋ")) + "`"


HELP = """*alertbot: paper alerts by keyword*
• `/subscribe QUERY` add an interest, e.g. `/subscribe "diffusion model" -survey`
• `/subscribe list` your interests, exclusions, time, frequency and channels
• `/subscribe remove N` remove interest number N (see `list`)
• `/subscribe exclude TERM` never send papers matching TERM, e.g. `/subscribe exclude survey`
• `/subscribe clear` forget every interest and exclusion
• `/subscribe time 08:30 [Europe/Paris]` when your digest comes (default: your Slack time zone)
• `/subscribe daily` | `weekdays` | `weekly mon` how often
• `/subscribe pause` | `resume` | `stop` (stop unsubscribes; your interests are kept until `clear`)
• `/subscribe preview` today's digest as it would be sent, only to you
• `/subscribe email you@example.org` also send it by email (after you confirm a link)
• `/subscribe suggest` query changes your useful / not useful clicks argue for, each one click
• `/subscribe learning on` | `off` whether your clicks may reorder your digest
• `/subscribe link CODE` use your web account here (the code is on its page)
*Query language*: words match title or abstract (`transformer`); quotes make \
a phrase (`"diffusion model"`); `OR` between alternatives (`LLM OR "language model"`); \
`-word` excludes (`-survey`); `prefix*` matches word starts (`quantiz*`); \
`title:word`, `abstract:word`, `author:name` search one field; `cat:cs.LG` or `cat:cs.*` \
keeps arXiv categories (`-cat:math.*` leaves them out); parentheses group."""


def when_text(subscriber: Subscriber) -> str:
    """``08:30 Europe/Paris, every weekday``."""
    at = f"{subscriber.send_time.strftime('%H:%M')} {subscriber.timezone}"
    if subscriber.frequency == Frequency.WEEKLY:
        return f"{at}, every {DAY_NAMES[subscriber.weekly_day]}"
    if subscriber.frequency == Frequency.WEEKDAYS:
        return f"{at}, Monday to Friday"
    return f"{at}, every day"


def endpoint_text(endpoint: Endpoint) -> str:
    """One delivery channel and its state, for ``list``."""
    if endpoint.kind == EndpointKind.SLACK_USER:
        where = "Slack direct message"
    elif endpoint.kind == EndpointKind.SLACK_CHANNEL:
        where = "Slack channel " + echo(endpoint.address)
    else:
        where = f"{endpoint.kind.value} " + echo(endpoint.address)
    if not endpoint.confirmed:
        state = "waiting for you to confirm the emailed link"
    elif endpoint.active:
        state = "on"
    else:
        state = "off" + (
            f" ({escape(endpoint.disabled_reason)})" if endpoint.disabled_reason else ""
        )
    return f"{where}: {state}"


def list_text(subscriber: Subscriber) -> str:
    """Everything ``/subscribe list`` shows, numbered as ``remove N`` expects."""
    lines = ["*Your alertbot subscription*"]
    interests = subscriber.profile.interests
    if interests:
        lines.append("Interests:")
        lines += [f"{n}. {echo(q)}" for n, q in enumerate(interests, 1)]
    else:
        lines.append("Interests: none yet. Add one with `/subscribe QUERY`.")
    exclusions = subscriber.profile.exclusions
    lines.append(
        "Exclusions: " + (", ".join(echo(q) for q in exclusions) if exclusions else "none")
    )
    lines.append(f"Digest: {when_text(subscriber)}")
    lines.append("Channels:")
    lines += [f"• {endpoint_text(e)}" for e in subscriber.endpoints] or ["• none"]
    lines.append(
        "State: " + ("active" if subscriber.active else "paused (`/subscribe resume` restarts it)")
    )
    return "\n".join(lines)


def added_text(query: str, number: int) -> str:
    return f"Added interest {number}: {echo(query)}. Counting the recent papers it matches…"


def matched_text(query: str, number: int, matched: int, total: int, days: int) -> str:
    return (
        f"Interest {number} {echo(query)} would have matched {matched} of the {total} "
        f"papers of the last {days} days."
    )


def time_text(at: time, zone: str) -> str:
    return f"Your digest now comes at {at.strftime('%H:%M')} {escape(zone)}."


def _wait_text(seconds: float) -> str:
    """``about 3 h`` / ``about 20 min``, rounded up."""
    minutes = max(1, -(-int(seconds) // 60))
    return f"about {-(-minutes // 60)} h" if minutes >= 60 else f"about {minutes} min"


def mail_limited_text(address: str, verdict: MailVerdict, limits: MailLimits, now: datetime) -> str:
    """Why no confirmation email went to ``address`` this time, and when one may."""
    hours = f"{limits.window.total_seconds() / 3600:g} hours"
    wait = _wait_text((verdict.retry_at - now).total_seconds()) if verdict.retry_at else "later"
    if verdict.limit == "requester":
        return (
            f"You have asked for {verdict.count} confirmation emails in the last {hours}, "
            f"the most allowed; nothing was sent to {echo(address)}. Try again in {wait}."
        )
    return (
        f"We already sent {verdict.count} confirmation emails to {echo(address)} in the last "
        f"{hours}, the most allowed: open the link in one of them, or try again in {wait}."
    )


LEARNING_ON = (
    "Learning is on: once you have marked enough papers useful and not useful, your "
    "digest puts papers like the useful ones first (keyword matching still decides which "
    "papers are in)."
)
LEARNING_OFF = (
    "Learning is off: your digest keeps the keyword order. Your clicks are kept; "
    "`/subscribe learning on` uses them again."
)
NO_SUGGESTIONS = "No suggestions yet: mark a few more papers of your digests useful or not useful."

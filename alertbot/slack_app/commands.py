"""``/subscribe`` text in, an action out. Pure: no store, no Slack, no clock.

Anything that is not a subcommand is a query (``/subscribe "diffusion model" -survey``).
A first word that is a subcommand with arguments that do not fit it is an error, not a
query, with a hint to quote it; a lone word one typo away from a subcommand is asked
about, not silently added as an interest.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import time

from alertbot import validate
from alertbot.model import Frequency
from alertbot.slack_app.replies import echo, escape

MAX_COMMAND_CHARS = 4000

# Slack sends command text in its message format: a literal &, < or > typed by the user
# arrives as an entity, and every <...> is a token Slack made (a link, a mention).
_SLACK_TOKEN = re.compile(r"<([^<>]*)>")
_BROADCASTS = {"here", "channel", "everyone"}


def _plain_token(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith(("@", "#")):  # <@U123|ada> and <#C123|general>
        return target[0] + label if label else target
    if target.startswith("!"):  # <!here>, <!subteam^S123|@team>
        name = target[1:]
        return "@" + name if name in _BROADCASTS else label or "@" + name
    if target.startswith("mailto:"):  # <mailto:ada@example.org|ada@example.org>
        return target[len("mailto:") :]
    return target  # a link: <https://x.org|x.org>


def from_slack(text: str) -> str:
    """The text as the user typed it, from Slack's escaped and linkified form."""
    text = _SLACK_TOKEN.sub(_plain_token, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class AddInterest:
    query: str


@dataclass(frozen=True, slots=True)
class ListProfile:
    pass


@dataclass(frozen=True, slots=True)
class RemoveInterest:
    position: int


@dataclass(frozen=True, slots=True)
class AddExclusion:
    query: str


@dataclass(frozen=True, slots=True)
class ClearProfile:
    pass


@dataclass(frozen=True, slots=True)
class SetTime:
    at: time
    zone: str | None  # None: the user's Slack time zone


@dataclass(frozen=True, slots=True)
class SetFrequency:
    frequency: Frequency
    weekly_day: int | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    pass


@dataclass(frozen=True, slots=True)
class Resume:
    pass


@dataclass(frozen=True, slots=True)
class Stop:
    pass


@dataclass(frozen=True, slots=True)
class Preview:
    pass


@dataclass(frozen=True, slots=True)
class AddEmail:
    address: str


@dataclass(frozen=True, slots=True)
class Suggest:
    pass


@dataclass(frozen=True, slots=True)
class SetLearning:
    allowed: bool


@dataclass(frozen=True, slots=True)
class LinkWeb:
    """``/subscribe link CODE``: the code the web account page shows."""

    code: str


@dataclass(frozen=True, slots=True)
class Invalid:
    """Text we cannot act on; ``message`` is the (already escaped) answer."""

    message: str


Action = (
    Help
    | AddInterest
    | ListProfile
    | RemoveInterest
    | AddExclusion
    | ClearProfile
    | SetTime
    | SetFrequency
    | Pause
    | Resume
    | Stop
    | Preview
    | AddEmail
    | Suggest
    | SetLearning
    | LinkWeb
    | Invalid
)

_NO_ARGS: dict[str, Action] = {
    "help": Help(),
    "list": ListProfile(),
    "clear": ClearProfile(),
    "pause": Pause(),
    "resume": Resume(),
    "stop": Stop(),
    "preview": Preview(),
    "suggest": Suggest(),
    "daily": SetFrequency(Frequency.DAILY),
    "weekdays": SetFrequency(Frequency.WEEKDAYS),
}
SUBCOMMANDS = (*_NO_ARGS, "add", "remove", "exclude", "time", "weekly", "email", "learning")
_WHITESPACE = frozenset("\t\n\r\x0b\x0c")
# A signed code (three dot-separated base64url parts): "link prediction" stays a query.
_LINK_CODE = re.compile(r"^[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}$")


def _usage(word: str, usage: str, problem: str | None = None) -> Invalid:
    head = ""
    if problem:
        head = problem[0].upper() + problem[1:] + ("" if problem.endswith(".") else ".") + " "
    return Invalid(
        f"{head}Usage: `{usage}`. To add an interest that starts with the word "
        f'{echo(word)}, put it in quotes: `/subscribe "{word} ..."`.'
    )


def _has_control(text: str) -> bool:
    return any(
        unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn") and c not in _WHITESPACE for c in text
    )


def parse_command(text: str) -> Action:
    """The action ``/subscribe text`` asks for (``Invalid`` with the answer if none).

    ``text`` is as Slack sends it (see :func:`from_slack`).
    """
    text = from_slack(text)
    if len(text) > MAX_COMMAND_CHARS:
        return Invalid(f"That is {len(text)} characters long; the limit is {MAX_COMMAND_CHARS}.")
    if _has_control(text):
        return Invalid("That text contains control characters; please type it again.")
    words = text.split()
    if not words:
        return Help()
    head, args = words[0].lower(), words[1:]
    rest = text.strip()[len(words[0]) :].strip()
    if head in _NO_ARGS:
        if args:
            return _usage(head, f"/subscribe {head}", f"`{head}` takes no arguments.")
        return _NO_ARGS[head]
    if head == "add":
        return AddInterest(rest) if rest else _usage(head, "/subscribe add QUERY")
    if head == "exclude":
        return AddExclusion(rest) if rest else _usage(head, "/subscribe exclude TERM")
    if head == "remove":
        return _remove(args)
    if head == "time":
        return _time(args)
    if head == "weekly":
        return _weekly(args)
    if head == "email":
        return _email(args)
    if head == "learning":
        if len(args) != 1 or args[0].lower() not in ("on", "off"):
            return _usage(head, "/subscribe learning on|off")
        return SetLearning(args[0].lower() == "on")
    if head == "link" and len(args) == 1 and _LINK_CODE.match(args[0]):
        return LinkWeb(args[0])
    if len(words) == 1 and head.isalpha():
        close = difflib.get_close_matches(head, SUBCOMMANDS, n=1, cutoff=0.75)
        if close:
            return Invalid(
                f"Unknown subcommand {echo(words[0])}. Did you mean `/subscribe {close[0]}`? "
                f'To add it as an interest, quote it: `/subscribe "{escape(words[0])}"`. '
                "`/subscribe help` lists the commands."
            )
    return AddInterest(text.strip())


def _remove(args: list[str]) -> Action:
    usage = "/subscribe remove N"
    if len(args) != 1 or not args[0].isascii() or not args[0].isdigit():
        return _usage("remove", usage, "Give the number of the interest, as `list` shows it.")
    if len(args[0]) > 6 or int(args[0]) < 1:
        return Invalid(f"There is no interest number {echo(args[0])}.")
    return RemoveInterest(int(args[0]))


def _time(args: list[str]) -> Action:
    usage = "/subscribe time 08:30 [Europe/Paris]"
    if not 1 <= len(args) <= 3:
        return _usage("time", usage)
    # "7:15 pm Europe/Paris": the am/pm may be a word of its own.
    clock, zone_args = args[0], args[1:]
    if zone_args and zone_args[0].lower() in ("am", "pm"):
        clock, zone_args = f"{clock} {zone_args[0]}", zone_args[1:]
    if len(zone_args) > 1:
        return _usage("time", usage)
    try:
        at = validate.send_time(clock)
        zone = validate.timezone(zone_args[0]) if zone_args else None
    except ValueError as exc:
        return _usage("time", usage, escape(str(exc)))
    return SetTime(at, zone)


def _weekly(args: list[str]) -> Action:
    if not args:
        return SetFrequency(Frequency.WEEKLY, 0)
    if len(args) != 1:
        return _usage("weekly", "/subscribe weekly mon")
    try:
        return SetFrequency(Frequency.WEEKLY, validate.weekday(args[0]))
    except ValueError as exc:
        return _usage("weekly", "/subscribe weekly mon", escape(str(exc)))


def _email(args: list[str]) -> Action:
    if len(args) != 1:
        return _usage("email", "/subscribe email you@example.org")
    try:
        return AddEmail(validate.email(args[0]))
    except ValueError as exc:
        return Invalid(escape(str(exc)))

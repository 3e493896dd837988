"""Parsing ``/subscribe`` text into actions: pure, so every shape is a table row."""

from __future__ import annotations

from datetime import time

import pytest

from alertbot.model import Frequency
from alertbot.slack_app import commands as c
from alertbot.slack_app.replies import echo, escape

PARSED = [
    ("", c.Help()),
    ("help", c.Help()),
    ("  LIST ", c.ListProfile()),
    ('"diffusion model" -survey', c.AddInterest('"diffusion model" -survey')),
    ("add list ranking", c.AddInterest("list ranking")),
    ("remove 2", c.RemoveInterest(2)),
    ("exclude survey OR review", c.AddExclusion("survey OR review")),
    ("clear", c.ClearProfile()),
    ("time 08:30", c.SetTime(time(8, 30), None)),
    ("time 7:15 pm Europe/Paris", c.SetTime(time(19, 15), "Europe/Paris")),
    ("daily", c.SetFrequency(Frequency.DAILY)),
    ("weekdays", c.SetFrequency(Frequency.WEEKDAYS)),
    ("weekly fri", c.SetFrequency(Frequency.WEEKLY, 4)),
    ("weekly", c.SetFrequency(Frequency.WEEKLY, 0)),
    ("pause", c.Pause()),
    ("resume", c.Resume()),
    ("stop", c.Stop()),
    ("preview", c.Preview()),
    ("email Ada@Example.ORG", c.AddEmail("Ada@example.org")),
    ("email <mailto:ada@example.org|ada@example.org>", c.AddEmail("ada@example.org")),
    ("transformer", c.AddInterest("transformer")),
]


@pytest.mark.parametrize(("text", "action"), PARSED, ids=[t or "(empty)" for t, _ in PARSED])
def test_it_parses_each_subcommand(text: str, action: c.Action) -> None:
    """Each documented form gives its action; anything else is a query."""
    assert c.parse_command(text) == action


REFUSED = [
    ("remove two", "number of the interest"),
    ("remove 0", "no interest number"),
    ("time 25:00", "Not a time of day"),
    ("time 08:30 Mars/Olympus", "Unknown time zone"),
    ("time 08:30 Europe/Paris extra", "Usage"),
    ("weekly someday", "Not a day of the week"),
    ("email not-an-address", "not a valid email address"),
    ("email a@b.org c@d.org", "Usage"),
    ("list everything", "takes no arguments"),
    ("lsit", "Did you mean `/subscribe list`"),
    ("time", "Usage"),
    ("bell\x07", "control characters"),
    ("x" * 5000, "the limit is 4000"),
]


@pytest.mark.parametrize(("text", "expected"), REFUSED, ids=[t[:20] for t, _ in REFUSED])
def test_it_answers_bad_input_with_an_explanation(text: str, expected: str) -> None:
    """Malformed subcommands are Invalid with a message saying what to type instead."""
    action = c.parse_command(text)
    assert isinstance(action, c.Invalid)
    assert expected in action.message


def test_it_escapes_user_text_in_error_messages() -> None:
    """A zone like ``<!channel>`` comes back as entities, so the reply pings nobody."""
    action = c.parse_command("time 08:30 <!channel>")
    assert isinstance(action, c.Invalid)
    assert "<" not in action.message
    assert "&lt;!channel&gt;" in action.message


def test_it_escapes_the_three_slack_control_characters() -> None:
    """``&``, ``<`` and ``>`` become entities, ``&`` first so entities are not doubled wrongly."""
    assert escape("a & <b> &lt;") == "a &amp; &lt;b&gt; &amp;lt;"
    assert echo("x`y <!here>") == "`xˋy &lt;!here&gt;`"

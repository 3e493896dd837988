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
    """A zone typed as ``<!channel>`` comes back as entities, so the reply pings nobody."""
    action = c.parse_command("time 08:30 &lt;!channel&gt;")
    assert isinstance(action, c.Invalid)
    assert "<" not in action.message
    assert "&lt;!channel&gt;" in action.message


def test_it_escapes_the_three_slack_control_characters() -> None:
    """``&``, ``<`` and ``>`` become entities, ``&`` first so entities are not doubled wrongly."""
    assert escape("a & <b> &lt;") == "a &amp; &lt;b&gt; &amp;lt;"
    assert echo("x`y <!here>") == "`xˋy &lt;!here&gt;`"


FROM_SLACK = [
    ("R&amp;D", "R&D"),
    ("&lt;!channel&gt; news", "<!channel> news"),
    ("a &amp;lt; b", "a &lt; b"),
    ("<mailto:ada@example.org|ada@example.org>", "ada@example.org"),
    ("<https://arxiv.org/abs/2602.1|arxiv.org/abs/2602.1>", "https://arxiv.org/abs/2602.1"),
    ("<@U123|ada> said", "@ada said"),
    ("<@U123>", "@U123"),
    ("<#C1|general>", "#general"),
    ("<!here> <!channel>", "@here @channel"),
    ("<!subteam^S1|@ml-team>", "@ml-team"),
]


@pytest.mark.parametrize(("sent", "typed"), FROM_SLACK, ids=[s for s, _ in FROM_SLACK])
def test_it_reads_command_text_the_way_slack_sends_it(sent: str, typed: str) -> None:
    """Entities are decoded once and Slack's link and mention tokens become plain text."""
    assert c.from_slack(sent) == typed


def test_a_query_with_an_ampersand_is_stored_as_typed() -> None:
    """``/subscribe R&D`` arrives as ``R&amp;D``: the interest is ``R&D``, not ``R&amp;D``."""
    assert c.parse_command('"R&amp;D" robotics') == c.AddInterest('"R&D" robotics')

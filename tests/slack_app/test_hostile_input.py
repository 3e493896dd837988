"""Arbitrary text at /subscribe, correctly signed: never a 5xx, never an unescaped '<'."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.slack import World

# Any Unicode a form body can carry (no surrogates: they cannot be UTF-8 encoded),
# control characters included, up to 10 kB; plus texts built from the command words.
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=10_000)
WORDS = st.sampled_from(
    [
        "list",
        "remove",
        "time",
        "weekly",
        "email",
        "exclude",
        "<!channel>",
        "<@U2>",
        "&",
        '"',
        "(",
        "-",
        "*",
        "OR",
        "08:30",
        "Europe/Paris",
        "x" * 600,
        "\x00",
        "\u202e",
    ]
)
COMMAND_LIKE = st.lists(WORDS, max_size=6).map(" ".join)
# A new user per example, so the rate limit never answers in the command's place.
USERS = (f"UH{n}" for n in itertools.count())


@settings(
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=st.one_of(ANY_TEXT, COMMAND_LIKE))
def test_it_answers_any_text_without_a_5xx_or_an_unescaped_angle_bracket(
    world: World, text: str
) -> None:
    """Whatever the text, the reply is a 200 ephemeral message with no raw '<' in it."""
    response = world.session.command(text, user=next(USERS))
    assert response.status_code == 200
    reply = response.json()["text"]
    assert "<" not in reply
    assert "Too many commands" not in reply

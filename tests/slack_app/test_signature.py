"""Every Slack request is verified before anything else: forgeries get a 401 and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.signature import Clock, SignatureVerifier
from sqlalchemy import func, select

from alertbot.store.schema import profile_queries, subscribers
from tests.helpers.slack import World, action_body, command_body, sign, signed_headers

# Slack's worked example in "Verifying requests from Slack" (docs.slack.dev).
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = 1531420618
DOC_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    "%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class FixedClock(Clock):
    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at


def rows(world: World) -> tuple[int, int]:
    with world.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(subscribers)).scalar_one(),
            conn.execute(select(func.count()).select_from(profile_queries)).scalar_one(),
        )


def test_it_computes_slacks_published_example_signature() -> None:
    """Our HMAC construction gives the signature Slack documents for its example request."""
    assert sign(DOC_BODY, DOC_TIMESTAMP, DOC_SECRET) == DOC_SIGNATURE


def test_it_verifies_slacks_published_example_with_the_verifier_bolt_uses() -> None:
    """slack-sdk's SignatureVerifier (what Bolt runs) accepts the example at its own time."""
    verifier = SignatureVerifier(DOC_SECRET, clock=FixedClock(DOC_TIMESTAMP + 60))
    assert verifier.is_valid(DOC_BODY, str(DOC_TIMESTAMP), DOC_SIGNATURE)
    late = SignatureVerifier(DOC_SECRET, clock=FixedClock(DOC_TIMESTAMP + 301))
    assert not late.is_valid(DOC_BODY, str(DOC_TIMESTAMP), DOC_SIGNATURE)


def test_it_answers_a_signed_list_command_with_json_text(world: World) -> None:
    """A correctly signed ``/subscribe list`` gets a 200 with an ephemeral JSON text."""
    response = world.session.command("list")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "Your alertbot subscription" in response.json()["text"]


def _one_byte_changed(body: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    # The user id, signed as U1, arrives as U2: someone acting as another user.
    assert body.count("U1") == 1
    return body.replace("U1", "U2"), headers


def _timestamp(skew: int) -> Any:
    def forge(body: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
        return body, signed_headers(body, skew=skew)

    return forge


def _without(header: str) -> Any:
    def forge(body: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
        return body, {k: v for k, v in headers.items() if k != header}

    return forge


def _other_secret(body: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    return body, signed_headers(body, secret="not-the-signing-secret")


FORGERIES = {
    "one byte changed in the body": _one_byte_changed,
    "timestamp 301 s old": _timestamp(-301),
    "timestamp 301 s ahead": _timestamp(301),
    "no signature header": _without("X-Slack-Signature"),
    "no timestamp header": _without("X-Slack-Request-Timestamp"),
    "signed with another secret": _other_secret,
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_it_refuses_a_forged_command_with_401_and_changes_nothing(world: World, forge: Any) -> None:
    """A command that would create a subscriber and an interest is refused when not genuine."""
    body = command_body("transformer")
    body, headers = forge(body, signed_headers(body))
    response = world.http.post("/slack/commands", content=body, headers=headers)
    assert response.status_code == 401
    assert rows(world) == (0, 0)
    assert world.slack.calls == []


def test_it_accepts_a_timestamp_just_inside_the_window(world: World) -> None:
    """A request signed 250 s ago is still within Slack's 5 minutes, so the window is not 0."""
    body = command_body("transformer")
    response = world.http.post(
        "/slack/commands", content=body, headers=signed_headers(body, skew=-250)
    )
    assert response.status_code == 200
    assert rows(world) == (1, 1)


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_it_refuses_a_forged_button_click_with_401(world: World, forge: Any) -> None:
    """The interactions endpoint verifies the same way before any listener runs."""
    body = action_body("unsubscribe", "1")
    body, headers = forge(body, signed_headers(body))
    response = world.http.post("/slack/interactions", content=body, headers=headers)
    assert response.status_code == 401
    assert rows(world) == (0, 0)


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe not utf-8", b"payload=%7Bnot-json", b"payload=%5B1%2C2"],
    ids=["not UTF-8", "payload not JSON", "payload a list"],
)
def test_it_refuses_unsigned_junk_with_401_not_a_crash(world: World, body: bytes) -> None:
    """Bodies Bolt cannot even parse are refused as forgeries, never with a 5xx."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = world.http.post("/slack/interactions", content=body, headers=headers)
    assert response.status_code == 401


def test_it_refuses_an_oversized_body_without_reading_it_all(world: World) -> None:
    """A body over the limit gets a 413 before verification or parsing."""
    body = "text=" + "a" * (1024 * 1024 + 10)
    response = world.http.post("/slack/commands", content=body, headers=signed_headers(body))
    assert response.status_code == 413
    assert rows(world) == (0, 0)

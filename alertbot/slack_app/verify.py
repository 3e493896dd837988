"""Is this HTTP request really from Slack? Checked on the raw bytes, before Bolt sees them.

Slack signs ``v0:{X-Slack-Request-Timestamp}:{body}`` with the app's signing secret
(HMAC-SHA256, hex, in ``X-Slack-Signature``), and the timestamp must be within five
minutes of now. slack-sdk's :class:`SignatureVerifier` (the one Bolt runs) does the
HMAC, the constant-time comparison and the window; it assumes well-formed input, though:
``int(timestamp)`` raises on ``abc`` or ``1.5e9`` and the body is decoded as UTF-8, so
Bolt's own check turned those into 500s with a traceback. Here the inputs are checked
first, so :func:`refusal` never raises and every bad request gets the same 401.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from slack_sdk.signature import Clock, SignatureVerifier

WINDOW_SECONDS = 5 * 60  # Slack's replay window, either way
# Whole seconds since the epoch, as Slack writes them (int() would also take " 12",
# "+12", "1_2" and non-ASCII digits, none of which Slack sends).
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class _WallClock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class RequestVerifier:
    """Verifies Slack's signature on raw request bytes; ``wall_clock`` is real time
    (Slack's timestamps are), injected so the published example can be checked."""

    def __init__(self, signing_secret: str, *, wall_clock: Callable[[], float]) -> None:
        self._now = wall_clock
        self._verifier = SignatureVerifier(signing_secret, clock=_WallClock(wall_clock))

    def refusal(self, body: bytes, headers: Mapping[str, str]) -> str | None:
        """None if Slack sent this request, else why it is refused (for the log line)."""
        timestamp = headers.get("x-slack-request-timestamp")
        signature = headers.get("x-slack-signature")
        if timestamp is None or signature is None:
            return "missing X-Slack-Request-Timestamp or X-Slack-Signature"
        if not _TIMESTAMP.fullmatch(timestamp):
            return "timestamp is not whole seconds"
        if not _SIGNATURE.fullmatch(signature):
            return "malformed signature"
        if abs(self._now() - int(timestamp)) > WINDOW_SECONDS:
            return "timestamp outside the 5-minute window"
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return "body is not UTF-8"
        try:
            valid = self._verifier.is_valid(text, timestamp, signature)
        except (ValueError, TypeError):  # pragma: no cover - the checks above rule it out
            valid = False
        return None if valid else "signature does not match"

"""Signed tokens for links that act without a login: unsubscribe, email confirmation and
feedback on a paper.

A token is bound to one subscriber and one endpoint (feedback: one paper and one
verdict) and signed with the secret key,
so a forged, altered or other-subscriber token is refused. itsdangerous does the
signing and the expiry check.

Feedback tokens are the exception: an email digest carries two per paper (about twenty),
and itsdangerous derives its key and builds a timestamped payload on every call, which
made those links a quarter of a digest's CPU under the profiler. They are a plain
HMAC-SHA256 over the claim instead (``v2.<payload>.<mac>``, a key derived once per
:class:`Signer`), with no timestamp since they never expire. The itsdangerous tokens
already in sent digests are still read.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from alertbot.model import FEEDBACK_VALUES, FeedbackValue
from alertbot.private import make_private_dir

UNSUBSCRIBE_SALT = "alertbot.unsubscribe.v1"
CONFIRM_SALT = "alertbot.confirm-email.v1"
CONFIRM_MAX_AGE_SECONDS = 3 * 24 * 3600
FEEDBACK_SALT = "alertbot.feedback.v1"  # the itsdangerous tokens of older digests
FEEDBACK_V2 = "v2."  # a JSON payload's base64 starts "W", so no v1 token starts so
FEEDBACK_V2_SALT = b"alertbot.feedback.v2"
FEEDBACK_MAC_BYTES = 16  # 128 bits: forging one takes 2**128 guesses
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))  # json.dumps(...) builds one per call


class BadToken(ValueError):
    """The token is malformed, forged, altered or expired."""


@dataclass(frozen=True, slots=True)
class UnsubscribeClaim:
    subscriber_id: int
    endpoint_id: int


@dataclass(frozen=True, slots=True)
class ConfirmClaim:
    subscriber_id: int
    endpoint_id: int
    email: str


@dataclass(frozen=True, slots=True)
class FeedbackClaim:
    subscriber_id: int
    paper_id: str
    value: FeedbackValue


class Signer:
    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < 16:
            raise ValueError("the secret key must be at least 16 characters")
        self._unsubscribe = URLSafeTimedSerializer(secret_key, salt=UNSUBSCRIBE_SALT)
        self._confirm = URLSafeTimedSerializer(secret_key, salt=CONFIRM_SALT)
        self._feedback = URLSafeTimedSerializer(secret_key, salt=FEEDBACK_SALT)
        # Keyed once; each token then copies this state instead of re-deriving the key.
        key = hmac.digest(secret_key.encode(), FEEDBACK_V2_SALT, hashlib.sha256)
        self._feedback_mac = hmac.new(key, digestmod=hashlib.sha256)

    def unsubscribe_token(self, subscriber_id: int, endpoint_id: int) -> str:
        return str(self._unsubscribe.dumps([subscriber_id, endpoint_id]))

    def read_unsubscribe(self, token: str) -> UnsubscribeClaim:
        # Unsubscribe links never expire: a digest read months later must still work.
        data = _loads(self._unsubscribe, token, max_age=None)
        if not (isinstance(data, list) and len(data) == 2 and all(type(x) is int for x in data)):
            raise BadToken("malformed token")
        return UnsubscribeClaim(data[0], data[1])

    def confirm_token(self, subscriber_id: int, endpoint_id: int, email: str) -> str:
        return str(self._confirm.dumps([subscriber_id, endpoint_id, email]))

    def read_confirm(self, token: str, max_age: int = CONFIRM_MAX_AGE_SECONDS) -> ConfirmClaim:
        data = _loads(self._confirm, token, max_age=max_age)
        if not (
            isinstance(data, list)
            and len(data) == 3
            and type(data[0]) is int
            and type(data[1]) is int
            and isinstance(data[2], str)
        ):
            raise BadToken("malformed token")
        return ConfirmClaim(data[0], data[1], data[2])

    def feedback_token(self, subscriber_id: int, paper_id: str, value: FeedbackValue) -> str:
        if value not in FEEDBACK_VALUES:
            raise ValueError(f"unknown feedback {value!r}")
        payload = _b64(_COMPACT_JSON.encode([subscriber_id, paper_id, value]).encode())
        return f"{FEEDBACK_V2}{payload}.{_b64(self._mac(payload))}"

    def read_feedback(self, token: str) -> FeedbackClaim:
        # Like unsubscribe links, never expiring: a digest may be read weeks later, and a
        # stolen link can do no more than say what one reader thought of one paper.
        if token.startswith(FEEDBACK_V2):
            data = self._read_feedback_v2(token.removeprefix(FEEDBACK_V2))
        else:
            data = _loads(self._feedback, token, max_age=None)
        if not (
            isinstance(data, list)
            and len(data) == 3
            and type(data[0]) is int
            and isinstance(data[1], str)
            and data[2] in FEEDBACK_VALUES
        ):
            raise BadToken("malformed token")
        return FeedbackClaim(data[0], data[1], data[2])

    def _mac(self, payload: str) -> bytes:
        mac = self._feedback_mac.copy()
        mac.update(payload.encode())
        return mac.digest()[:FEEDBACK_MAC_BYTES]

    def _read_feedback_v2(self, token: str) -> object:
        payload, _, signature = token.rpartition(".")
        try:
            given = _unb64(signature)
        except ValueError as exc:
            raise BadToken("the link is not valid") from exc
        if not hmac.compare_digest(given, self._mac(payload)):
            raise BadToken("the link is not valid")
        try:
            return json.loads(_unb64(payload))
        except ValueError as exc:  # signed by us, so only a bug could get here
            raise BadToken("malformed token") from exc


def _loads(serializer: URLSafeTimedSerializer, token: str, max_age: int | None) -> object:
    try:
        return serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise BadToken("the link has expired") from exc
    except BadSignature as exc:
        raise BadToken("the link is not valid") from exc


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Unpadded URL-safe base64 back to bytes; ``ValueError`` if it is not that."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not base64") from exc


def load_or_create_secret_key(configured: str | None, data_dir: Path) -> str:
    """The configured key, else one generated once and kept (mode 0600) in ``data_dir``
    (created 0700 if missing).

    The new key is written to a private temporary file and linked into place, so a crash
    never leaves an empty key file and two processes starting at once agree on one key
    (the second's link fails and it reads the first's).
    """
    if configured:
        return configured
    path = data_dir / "secret_key"
    if not path.is_file():
        make_private_dir(data_dir)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(secrets.token_urlsafe(48))
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 16:
        raise ValueError(f"{path} holds no usable key; delete it to generate a new one")
    return key

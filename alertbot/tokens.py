"""Signed tokens for links that act without a login: unsubscribe, email confirmation,
feedback on a paper, accepting a query suggestion, a digest's web page and a reader's
archive of digests; and the CSRF token of the forms on those pages.

A token is bound to one subscriber and one endpoint (feedback: one paper and one
verdict) and signed with the secret key,
so a forged, altered or other-subscriber token is refused. itsdangerous does the
signing and the expiry check.

Links that never expire (unsubscribe, feedback, a query suggestion, a digest's page,
the archive) are the exception: an email digest carries about twenty-five, and
itsdangerous derives its key and builds a timestamped payload on every call, which made
them a quarter of a digest's CPU under the profiler (feedback first, then unsubscribe and
the digest page, 6% of a send after that). They are a plain HMAC-SHA256 over the claim
instead (``v2.<payload>.<mac>``, the key derived once per purpose and :class:`Signer`),
with no timestamp since they never expire. The itsdangerous tokens already in sent
digests are still read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

import orjson
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from alertbot.model import FEEDBACK_VALUES, FeedbackValue

# The itsdangerous salts of the never-expiring links (``.v1``) are kept to read the
# tokens of digests already sent; new ones are MACs under their ``.v2`` salts.
UNSUBSCRIBE_SALT = "alertbot.unsubscribe.v1"
CONFIRM_SALT = "alertbot.confirm-email.v1"
CONFIRM_MAX_AGE_SECONDS = 3 * 24 * 3600
FEEDBACK_SALT = "alertbot.feedback.v1"
# itsdangerous's payload is base64 (no ".") and "v2" decodes to no JSON, so no v1 token
# starts so.
V2 = "v2."
MAC_BYTES = 16  # 128 bits: forging one takes 2**128 guesses
SUGGESTION_SALT = "alertbot.suggestion.v1"
SUGGESTION_KINDS = ("interest", "exclusion")
# The web account (alertbot.web): emailed sign-in links, the session cookie, and the
# CSRF token of its forms, each under its own salt so none passes for another.
SIGNIN_SALT = "alertbot.sign-in.v1"
SIGNIN_MAX_AGE_SECONDS = 15 * 60
SESSION_SALT = "alertbot.session.v1"
SESSION_MAX_AGE_SECONDS = 30 * 24 * 3600
CSRF_SALT = "alertbot.csrf.v1"
# The code the account page shows for linking a Slack user (``/subscribe link CODE``).
SLACK_LINK_SALT = "alertbot.slack-link.v1"
# A digest's web page, the reader's archive, and the CSRF token of the digest page's
# forms (bound to the reader, since the page may be opened by its link alone).
DIGEST_SALT = "alertbot.digest-page.v1"
ARCHIVE_SALT = "alertbot.digest-archive.v1"
PAGE_FORM_SALT = "alertbot.page-form.v1"
# A page's forms stay usable this long after the page was served (a tab left open).
PAGE_FORM_MAX_AGE_SECONDS = 7 * 24 * 3600


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


@dataclass(frozen=True, slots=True)
class SuggestionClaim:
    subscriber_id: int
    kind: str  # interest | exclusion
    query: str


@dataclass(frozen=True, slots=True)
class DigestClaim:
    subscriber_id: int
    outbox_id: int


@dataclass(frozen=True, slots=True)
class SigninClaim:
    """A sign-in link: for one subscriber's address, used once (``link_id``)."""

    subscriber_id: int
    endpoint_id: int
    link_id: str


@dataclass(frozen=True, slots=True)
class SessionClaim:
    subscriber_id: int
    generation: int


class Signer:
    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < 16:
            raise ValueError("the secret key must be at least 16 characters")
        self._unsubscribe = URLSafeTimedSerializer(secret_key, salt=UNSUBSCRIBE_SALT)
        self._confirm = URLSafeTimedSerializer(secret_key, salt=CONFIRM_SALT)
        self._feedback = URLSafeTimedSerializer(secret_key, salt=FEEDBACK_SALT)
        self._suggestion = URLSafeTimedSerializer(secret_key, salt=SUGGESTION_SALT)
        self._digest = URLSafeTimedSerializer(secret_key, salt=DIGEST_SALT)
        self._archive = URLSafeTimedSerializer(secret_key, salt=ARCHIVE_SALT)
        self._page_form = URLSafeTimedSerializer(secret_key, salt=PAGE_FORM_SALT)
        self._signin = URLSafeTimedSerializer(secret_key, salt=SIGNIN_SALT)
        self._session = URLSafeTimedSerializer(secret_key, salt=SESSION_SALT)
        self._csrf = URLSafeTimedSerializer(secret_key, salt=CSRF_SALT)
        self._slack_link = URLSafeTimedSerializer(secret_key, salt=SLACK_LINK_SALT)

        self._unsubscribe_v2 = _Mac(secret_key, UNSUBSCRIBE_SALT)
        self._feedback_v2 = _Mac(secret_key, FEEDBACK_SALT)
        self._suggestion_v2 = _Mac(secret_key, SUGGESTION_SALT)
        self._digest_v2 = _Mac(secret_key, DIGEST_SALT)
        self._archive_v2 = _Mac(secret_key, ARCHIVE_SALT)

    def unsubscribe_token(self, subscriber_id: int, endpoint_id: int) -> str:
        return self._unsubscribe_v2.dumps([subscriber_id, endpoint_id])

    def read_unsubscribe(self, token: str) -> UnsubscribeClaim:
        # Unsubscribe links never expire: a digest read months later must still work.
        data = _never_expiring(self._unsubscribe_v2, self._unsubscribe, token)
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
        return self._feedback_v2.dumps([subscriber_id, paper_id, value])

    def read_feedback(self, token: str) -> FeedbackClaim:
        # Like unsubscribe links, never expiring: a digest may be read weeks later, and a
        # stolen link can do no more than say what one reader thought of one paper.
        data = _never_expiring(self._feedback_v2, self._feedback, token)
        if not (
            isinstance(data, list)
            and len(data) == 3
            and type(data[0]) is int
            and isinstance(data[1], str)
            and data[2] in FEEDBACK_VALUES
        ):
            raise BadToken("malformed token")
        return FeedbackClaim(data[0], data[1], data[2])

    def suggestion_token(self, subscriber_id: int, kind: str, query: str) -> str:
        if kind not in SUGGESTION_KINDS:
            raise ValueError(f"unknown suggestion kind {kind!r}")
        return self._suggestion_v2.dumps([subscriber_id, kind, query])

    def read_suggestion(self, token: str) -> SuggestionClaim:
        # Never expiring, like feedback links: accepting adds one query to the reader's
        # own profile, which they can remove again.
        data = _never_expiring(self._suggestion_v2, self._suggestion, token)
        if not (
            isinstance(data, list)
            and len(data) == 3
            and type(data[0]) is int
            and data[1] in SUGGESTION_KINDS
            and isinstance(data[2], str)
        ):
            raise BadToken("malformed token")
        return SuggestionClaim(data[0], data[1], data[2])

    def digest_token(self, subscriber_id: int, outbox_id: int) -> str:
        return self._digest_v2.dumps([subscriber_id, outbox_id])

    def read_digest(self, token: str) -> DigestClaim:
        # Never expiring, like the other links of a digest: it is the digest itself, and
        # a stolen link shows one reader's papers of one day and nothing else.
        data = _never_expiring(self._digest_v2, self._digest, token)
        if not (isinstance(data, list) and len(data) == 2 and all(type(x) is int for x in data)):
            raise BadToken("malformed token")
        return DigestClaim(data[0], data[1])

    def archive_token(self, subscriber_id: int) -> str:
        return self._archive_v2.dumps(subscriber_id)

    def read_archive(self, token: str) -> int:
        """The subscriber whose past digests the token opens (never expiring)."""
        data = _never_expiring(self._archive_v2, self._archive, token)
        if type(data) is not int:
            raise BadToken("malformed token")
        return data

    def page_form_token(self, subscriber_id: int) -> str:
        """The CSRF token of a digest page's forms: bound to the reader the page was
        served to (the page may be opened by its link, with no session cookie)."""
        return str(self._page_form.dumps(subscriber_id))

    def read_page_form(self, token: str, max_age: int = PAGE_FORM_MAX_AGE_SECONDS) -> int:
        data = _loads(self._page_form, token, max_age=max_age)
        if type(data) is not int:
            raise BadToken("malformed token")
        return data

    def signin_token(self, subscriber_id: int, endpoint_id: int) -> str:
        """A new sign-in link's token, with a random id that makes it single-use."""
        return str(self._signin.dumps([subscriber_id, endpoint_id, secrets.token_urlsafe(16)]))

    def read_signin(self, token: str, max_age: int = SIGNIN_MAX_AGE_SECONDS) -> SigninClaim:
        data = _loads(self._signin, token, max_age=max_age)
        if not (
            isinstance(data, list)
            and len(data) == 3
            and type(data[0]) is int
            and type(data[1]) is int
            and isinstance(data[2], str)
            and 0 < len(data[2]) <= 64
        ):
            raise BadToken("malformed token")
        return SigninClaim(data[0], data[1], data[2])

    def slack_link_token(self, subscriber_id: int) -> str:
        """A code that links the Slack user who types it to ``subscriber_id`` (single use,
        like a sign-in link, and as short-lived)."""
        return str(self._slack_link.dumps([subscriber_id, secrets.token_urlsafe(9)]))

    def read_slack_link(self, token: str, max_age: int = SIGNIN_MAX_AGE_SECONDS) -> SigninClaim:
        """The claim of a Slack link code (``endpoint_id`` is 0: it names no address)."""
        data = _loads(self._slack_link, token, max_age=max_age)
        if not (
            isinstance(data, list)
            and len(data) == 2
            and type(data[0]) is int
            and isinstance(data[1], str)
            and 0 < len(data[1]) <= 64
        ):
            raise BadToken("malformed token")
        return SigninClaim(data[0], 0, "slack:" + data[1])

    def session_token(self, subscriber_id: int, generation: int) -> str:
        return str(self._session.dumps([subscriber_id, generation]))

    def read_session(self, token: str, max_age: int = SESSION_MAX_AGE_SECONDS) -> SessionClaim:
        data = _loads(self._session, token, max_age=max_age)
        if not (isinstance(data, list) and len(data) == 2 and all(type(x) is int for x in data)):
            raise BadToken("malformed token")
        return SessionClaim(data[0], data[1])

    def csrf_token(self, browser_secret: str) -> str:
        """The forms' hidden field: ``browser_secret`` (the CSRF cookie's value) signed."""
        return str(self._csrf.dumps(browser_secret))

    def check_csrf(self, token: str, browser_secret: str) -> bool:
        """Whether ``token`` is this key's signature of ``browser_secret`` (double submit:
        another site can neither read the cookie nor sign a value of its own)."""
        try:
            data = _loads(self._csrf, token, max_age=SESSION_MAX_AGE_SECONDS)
        except BadToken:
            return False
        return (
            isinstance(data, str)
            and bool(browser_secret)
            and secrets.compare_digest(data, browser_secret)
        )


class _Mac:
    """Never-expiring tokens of one purpose: ``v2.<payload>.<mac>``, the payload the
    claim's compact UTF-8 JSON in unpadded URL-safe base64, the MAC its first
    :data:`MAC_BYTES` of HMAC-SHA256 under a key derived from the secret key and the
    purpose's salt."""

    def __init__(self, secret_key: str, salt: str) -> None:
        # Keyed once; each token then copies this state instead of re-deriving the key.
        # The ".v2" salt keeps these keys apart from any itsdangerous key of the purpose.
        salt_v2 = salt.removesuffix(".v1") + ".v2"
        key = hmac.digest(secret_key.encode(), salt_v2.encode(), hashlib.sha256)
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def dumps(self, claim: object) -> str:
        # orjson writes the compact JSON (as json.dumps with separators and
        # ensure_ascii=False), and the base64 stays bytes until the token is joined: a
        # digest makes about twenty of these, and this halved their CPU (10 to 5 us each).
        payload = _b64_bytes(orjson.dumps(claim))
        return f"{V2}{payload.decode()}.{_b64_bytes(self._mac(payload)).decode()}"

    def loads(self, token: str) -> object:
        """The claim of a token this made (with its ``v2.`` prefix); ``BadToken`` if
        the MAC does not match."""
        payload, _, signature = token.removeprefix(V2).rpartition(".")
        try:
            given = _unb64(signature)
        except ValueError as exc:
            raise BadToken("the link is not valid") from exc
        if not hmac.compare_digest(given, self._mac(payload.encode())):
            raise BadToken("the link is not valid")
        try:
            return json.loads(_unb64(payload))
        except ValueError as exc:  # signed by us, so only a bug could get here
            raise BadToken("malformed token") from exc

    def _mac(self, payload: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(payload)
        return mac.digest()[:MAC_BYTES]


def _never_expiring(mac: _Mac, older: URLSafeTimedSerializer, token: str) -> object:
    """A never-expiring link's claim: a ``v2.`` MAC, or the itsdangerous token of a
    digest sent before them."""
    if token.startswith(V2):
        return mac.loads(token)
    return _loads(older, token, max_age=None)


def _loads(serializer: URLSafeTimedSerializer, token: str, max_age: int | None) -> object:
    try:
        return serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise BadToken("the link has expired") from exc
    except BadSignature as exc:
        raise BadToken("the link is not valid") from exc


def _b64_bytes(data: bytes) -> bytes:
    """Unpadded URL-safe base64 (``base64.urlsafe_b64encode`` without its two calls)."""
    return binascii.b2a_base64(data, newline=False).translate(_URL_SAFE).rstrip(b"=")


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _unb64(text: str) -> bytes:
    """Unpadded URL-safe base64 back to bytes; ``ValueError`` if it is not that."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not base64") from exc

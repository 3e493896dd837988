"""Signed tokens: unforgeable, bound to one subscriber and endpoint, expiring when asked."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from freezegun import freeze_time
from itsdangerous import URLSafeTimedSerializer

from alertbot.tokens import (
    ARCHIVE_SALT,
    DIGEST_SALT,
    FEEDBACK_SALT,
    SUGGESTION_SALT,
    UNSUBSCRIBE_SALT,
    BadToken,
    Signer,
)
from tests.helpers.tokens import alter_payload, alter_signature

KEY = "k" * 32


def test_it_round_trips_an_unsubscribe_token() -> None:
    """A token read back names the subscriber and endpoint it was made for."""
    signer = Signer(KEY)
    claim = signer.read_unsubscribe(signer.unsubscribe_token(7, 42))
    assert (claim.subscriber_id, claim.endpoint_id) == (7, 42)


@pytest.mark.parametrize(
    "mutate",
    [
        alter_signature,
        lambda t: t[:3] + alter_payload(t[3:]),
        lambda t: "x" + t,
        lambda t: t[:-3],
        lambda t: "",
    ],
    ids=["signature", "payload", "prefix", "truncated", "empty"],
)
def test_it_refuses_an_altered_token(mutate) -> None:  # type: ignore[no-untyped-def]
    """Changing the signed data or the signature makes a token invalid."""
    signer = Signer(KEY)
    with pytest.raises(BadToken):
        signer.read_unsubscribe(mutate(signer.unsubscribe_token(7, 42)))


def test_it_refuses_a_token_signed_with_another_key() -> None:
    """A token from another installation (or a forger) is refused."""
    token = Signer("z" * 32).unsubscribe_token(7, 42)
    with pytest.raises(BadToken):
        Signer(KEY).read_unsubscribe(token)


def test_it_does_not_accept_a_confirm_token_as_an_unsubscribe_token() -> None:
    """Tokens are salted by purpose, so one kind cannot stand in for another."""
    signer = Signer(KEY)
    with pytest.raises(BadToken):
        signer.read_unsubscribe(signer.confirm_token(7, 42, "a@example.org"))


def test_it_expires_confirmation_links() -> None:
    """A confirmation link older than its max age is refused with a clear reason."""
    signer = Signer(KEY)
    with freeze_time("2026-01-01 00:00:00"):
        token = signer.confirm_token(1, 2, "a@example.org")
    with freeze_time("2026-01-01 00:59:00"):
        assert signer.read_confirm(token, max_age=3600).email == "a@example.org"
    with freeze_time("2026-01-01 01:00:02"), pytest.raises(BadToken, match="expired"):
        signer.read_confirm(token, max_age=3600)


def test_it_rejects_short_secret_keys() -> None:
    """A guessable key is refused up front."""
    with pytest.raises(ValueError, match="at least 16"):
        Signer("short")


def test_it_round_trips_a_feedback_token_for_any_paper_id() -> None:
    """A feedback token names its subscriber, paper (whatever its characters) and verdict."""
    signer = Signer(KEY)
    for paper_id in ("arxiv:2401.00001", "hep-th/9901001v2", "hf:ünï code. dots"):
        claim = signer.read_feedback(signer.feedback_token(7, paper_id, "not_useful"))
        assert (claim.subscriber_id, claim.paper_id, claim.value) == (7, paper_id, "not_useful")


@pytest.mark.parametrize(
    "mutate",
    [alter_signature, lambda t: t[:3] + alter_payload(t[3:]), lambda t: t[:-3], lambda t: t + "."],
    ids=["signature", "payload", "truncated", "trailing-dot"],
)
def test_it_refuses_an_altered_feedback_token(mutate) -> None:  # type: ignore[no-untyped-def]
    """Changing a feedback token's claim or its MAC makes it invalid."""
    signer = Signer(KEY)
    with pytest.raises(BadToken):
        signer.read_feedback(mutate(signer.feedback_token(7, "arxiv:2401.00001", "useful")))


def test_it_refuses_a_feedback_token_of_another_key_or_purpose() -> None:
    """Another installation's feedback token, or an unsubscribe token, is no feedback."""
    other = Signer("z" * 32).feedback_token(7, "arxiv:2401.00001", "useful")
    signer = Signer(KEY)
    for token in (other, signer.unsubscribe_token(7, 42)):
        with pytest.raises(BadToken):
            signer.read_feedback(token)


def test_it_still_reads_the_feedback_links_of_digests_sent_before_v2() -> None:
    """A link from an older digest (an itsdangerous token) still records its verdict."""
    old = URLSafeTimedSerializer(KEY, salt=FEEDBACK_SALT).dumps([7, "arxiv:2401.00001", "useful"])
    claim = Signer(KEY).read_feedback(str(old))
    assert (claim.subscriber_id, claim.paper_id, claim.value) == (7, "arxiv:2401.00001", "useful")


# The links that never expire: (salt of their itsdangerous tokens, a claim, make, read).
Make = Callable[[Signer], str]
Read = Callable[[Signer, str], object]
NEVER_EXPIRING: dict[str, tuple[str, object, Make, Read]] = {
    "unsubscribe": (
        UNSUBSCRIBE_SALT,
        [7, 42],
        lambda s: s.unsubscribe_token(7, 42),
        lambda s, t: s.read_unsubscribe(t),
    ),
    "feedback": (
        FEEDBACK_SALT,
        [7, "arxiv:2401.00001", "useful"],
        lambda s: s.feedback_token(7, "arxiv:2401.00001", "useful"),
        lambda s, t: s.read_feedback(t),
    ),
    "suggestion": (
        SUGGESTION_SALT,
        [7, "interest", '"graph neural"'],
        lambda s: s.suggestion_token(7, "interest", '"graph neural"'),
        lambda s, t: s.read_suggestion(t),
    ),
    "digest": (
        DIGEST_SALT,
        [7, 42],
        lambda s: s.digest_token(7, 42),
        lambda s, t: s.read_digest(t),
    ),
    "archive": (ARCHIVE_SALT, 7, lambda s: s.archive_token(7), lambda s, t: s.read_archive(t)),
}


def _independent_v2(key: str, salt: str, claim: object, *, ascii_only: bool = False) -> str:
    """A v2 token worked out from its definition: HMAC-SHA256 keyed by HMAC(key, salt),
    over the claim's compact JSON (UTF-8, not escaped to ASCII) in unpadded URL-safe
    base64, cut to 16 bytes."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    derived = hmac.digest(key.encode(), salt.encode(), hashlib.sha256)
    payload = b64(json.dumps(claim, separators=(",", ":"), ensure_ascii=ascii_only).encode())
    return f"v2.{payload}.{b64(hmac.digest(derived, payload.encode(), hashlib.sha256)[:16])}"


@pytest.mark.parametrize("purpose", NEVER_EXPIRING)
def test_a_never_expiring_link_is_the_v2_mac_of_its_claim(purpose: str) -> None:
    """New links are plain HMACs (no per-call key derivation), exactly as defined, and
    read back as their claim."""
    salt, claim, make, read = NEVER_EXPIRING[purpose]
    signer = Signer(KEY)
    token = make(signer)
    assert token == _independent_v2(KEY, salt.removesuffix(".v1") + ".v2", claim)
    read(signer, token)


# Any characters a query may hold: quotes, a backslash, controls, non-ASCII, joiners.
UNUSUAL = 'é "q\\" \t\u2028 \u00e9\u0301 👩\u200d🔬'


def test_a_link_of_any_text_is_the_v2_mac_of_its_utf8_claim() -> None:
    """A claim's text is signed as UTF-8 JSON, whatever its characters, and read back."""
    signer = Signer(KEY)
    token = signer.suggestion_token(7, "exclusion", UNUSUAL)
    v2_salt = SUGGESTION_SALT.removesuffix(".v1") + ".v2"
    assert token == _independent_v2(KEY, v2_salt, [7, "exclusion", UNUSUAL])
    claim = signer.read_suggestion(token)
    assert (claim.subscriber_id, claim.kind, claim.query) == (7, "exclusion", UNUSUAL)


def test_a_v2_link_whose_claim_was_escaped_to_ascii_is_still_read() -> None:
    """Links made before the claim's JSON became UTF-8 (non-ASCII as ``\\u`` escapes)
    sign other bytes for the same claim; they read back as that claim."""
    v2_salt = SUGGESTION_SALT.removesuffix(".v1") + ".v2"
    older = _independent_v2(KEY, v2_salt, [7, "exclusion", UNUSUAL], ascii_only=True)
    signer = Signer(KEY)
    assert older != signer.suggestion_token(7, "exclusion", UNUSUAL)
    claim = signer.read_suggestion(older)
    assert (claim.subscriber_id, claim.kind, claim.query) == (7, "exclusion", UNUSUAL)


@pytest.mark.parametrize("purpose", NEVER_EXPIRING)
def test_a_never_expiring_link_of_an_older_digest_is_still_read(purpose: str) -> None:
    """A link in a digest sent before v2 (an itsdangerous token) still works, and one of
    another key still does not."""
    salt, claim, make, read = NEVER_EXPIRING[purpose]
    old = str(URLSafeTimedSerializer(KEY, salt=salt).dumps(claim))
    assert read(Signer(KEY), old) == read(Signer(KEY), make(Signer(KEY)))
    forged = str(URLSafeTimedSerializer("z" * 32, salt=salt).dumps(claim))
    with pytest.raises(BadToken):
        read(Signer(KEY), forged)


@pytest.mark.parametrize("purpose", NEVER_EXPIRING)
def test_a_never_expiring_link_passes_for_no_other_purpose(purpose: str) -> None:
    """An unsubscribe and a digest-page token hold the same two numbers; each purpose's
    key refuses the other's."""
    make = NEVER_EXPIRING[purpose][2]
    token = make(Signer(KEY))
    for other, (_, _, _, read) in NEVER_EXPIRING.items():
        if other != purpose:
            with pytest.raises(BadToken):
                read(Signer(KEY), token)

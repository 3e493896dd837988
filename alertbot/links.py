"""The links digests and emails carry: signed tokens under ``web.public_url``.

Built here, where the delivery worker and the Slack app can reach them, and verified by
the web pages (:mod:`alertbot.web.unsubscribe`, :mod:`alertbot.web.feedback`) with the
same signer. The tokens themselves are :mod:`alertbot.tokens`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlencode

from alertbot.config import Settings
from alertbot.model import FeedbackValue
from alertbot.secret_key import load_or_create_secret_key
from alertbot.tokens import Signer


def secret_key(settings: Settings) -> str:
    """The key that signs links: configured, or generated once in ``data_dir``."""
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    return load_or_create_secret_key(configured, settings.data_dir)


@functools.lru_cache(maxsize=8)
def _signer(key: str) -> Signer:
    return Signer(key)


def signer_for(settings: Settings) -> Signer:
    """A :class:`Signer` with the settings' key (built once per key)."""
    return _signer(secret_key(settings))


def _url(settings: Settings, path: str, token: str) -> str:
    return settings.web.public_url.rstrip("/") + path + "?" + urlencode({"token": token})


def unsubscribe_url(settings: Settings, subscriber_id: int, endpoint_id: int) -> str:
    """The one-click link for the List-Unsubscribe header and the digest footer."""
    token = signer_for(settings).unsubscribe_token(subscriber_id, endpoint_id)
    return _url(settings, "/unsubscribe", token)


def feedback_url(
    settings: Settings, subscriber_id: int, paper_id: str, value: FeedbackValue
) -> str:
    """The "useful" / "not useful" link under one paper of an email digest."""
    return feedback_links(settings)(subscriber_id, paper_id, value)


def feedback_links(settings: Settings) -> Callable[[int, str, FeedbackValue], str]:
    """:func:`feedback_url` with the key and the address looked up once: a worker makes
    two links per paper of every digest."""
    # Looked up at the first link, not before: a run with nothing to send must not
    # create the key file.
    signer = functools.cache(lambda: signer_for(settings))
    # The token is URL-safe base64 and dots (alertbot.tokens), so it needs no quoting.
    prefix = settings.web.public_url.rstrip("/") + "/feedback?token="
    return lambda sid, paper_id, value: prefix + signer().feedback_token(sid, paper_id, value)


def digest_url(settings: Settings, subscriber_id: int, outbox_id: int) -> str:
    """The web page of one digest (every match, not only those the message showed)."""
    token = signer_for(settings).digest_token(subscriber_id, outbox_id)
    return _url(settings, f"/digest/{outbox_id}", token)


def archive_url(settings: Settings, subscriber_id: int) -> str:
    """The reader's past digests, newest first."""
    token = signer_for(settings).archive_token(subscriber_id)
    return _url(settings, "/digests", token)


def confirm_url(settings: Settings, subscriber_id: int, endpoint_id: int, email: str) -> str:
    """The link that confirms a new email address (double opt-in); it expires."""
    token = signer_for(settings).confirm_token(subscriber_id, endpoint_id, email)
    return _url(settings, "/confirm", token)


def suggestion_url(settings: Settings, subscriber_id: int, kind: str, query: str) -> str:
    """The link under a digest's suggestion: a page with one button that accepts it."""
    token = signer_for(settings).suggestion_token(subscriber_id, kind, query)
    return _url(settings, "/suggestion", token)


def signin_url(settings: Settings, subscriber_id: int, endpoint_id: int) -> str:
    """A new single-use sign-in link for the web pages; it expires in minutes."""
    token = signer_for(settings).signin_token(subscriber_id, endpoint_id)
    return _url(settings, "/signin/link", token)

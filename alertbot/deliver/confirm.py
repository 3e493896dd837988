"""The double opt-in email that ``/subscribe email ADDRESS`` and the web sign-up send,
and the web pages' sign-in link.

A plain-text message with the signed confirmation link, sent over the same verified
SMTP channel as the digests (:class:`alertbot.deliver.email.EmailChannel`). It
is not an outbox row: the user is waiting in Slack for it, so it is sent at once and a
failure is reported back to them (the caller catches the exception) instead of being
retried in the background.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from alertbot.config import Settings
from alertbot.deliver.email import EmailChannel
from alertbot.deliver.mime import text_message_bytes
from alertbot.render import environment
from alertbot.render.parts import one_line
from alertbot.tokens import CONFIRM_MAX_AGE_SECONDS, SIGNIN_MAX_AGE_SECONDS

SUBJECT = "Confirm your alertbot digests"
SIGNIN_SUBJECT = "Your alertbot sign-in link"


def confirmation_message(
    settings: Settings, address: str, confirm_url: str, *, now: datetime
) -> bytes:
    """The confirmation email, ready for SMTP DATA (dated ``now``)."""
    return _link_message(
        settings,
        "email/confirm.txt",
        SUBJECT,
        address,
        now,
        confirm_url=confirm_url,
        expires_days=CONFIRM_MAX_AGE_SECONDS // 86400,
    )


def send_confirmation(settings: Settings, address: str, confirm_url: str, now: datetime) -> None:
    """Mail ``confirm_url`` to ``address``; raises :class:`DeliveryError` on failure.

    Through :class:`EmailChannel`, so a refusal is classified like a digest's (a 5xx is
    permanent, a timeout after DATA "unknown") in the error the user is shown.
    """
    _send(settings, address, lambda: confirmation_message(settings, address, confirm_url, now=now))


def signin_message(settings: Settings, address: str, signin_url: str, *, now: datetime) -> bytes:
    """The sign-in link email, ready for SMTP DATA (dated ``now``)."""
    return _link_message(
        settings,
        "email/signin.txt",
        SIGNIN_SUBJECT,
        address,
        now,
        signin_url=signin_url,
        expires_minutes=SIGNIN_MAX_AGE_SECONDS // 60,
    )


def send_signin_link(settings: Settings, address: str, signin_url: str, now: datetime) -> None:
    """Mail ``signin_url`` to ``address``; raises :class:`DeliveryError` on failure."""
    _send(settings, address, lambda: signin_message(settings, address, signin_url, now=now))


def _link_message(
    settings: Settings,
    template: str,
    subject: str,
    address: str,
    now: datetime,
    **context: object,
) -> bytes:
    """A plain-text message to ``address`` from ``template`` rendered with ``context``."""
    text = environment().get_template(template).render(address=address, **context)
    _, data = text_message_bytes(
        subject=subject,
        from_address=settings.smtp.from_address,
        to_address=address,
        sent_at=now,
        text=text,
    )
    return data


def _send(settings: Settings, address: str, message: Callable[[], bytes]) -> None:
    """Send the message ``message()`` builds on a channel of its own, closed after."""
    channel = EmailChannel(settings.smtp)
    try:
        channel.send_bytes(one_line(address), message())
    finally:
        channel.close()

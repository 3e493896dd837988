"""The double opt-in email that ``/subscribe email ADDRESS`` and the web sign-up send,
and the web pages' sign-in link.

A plain-text message with the signed confirmation link, sent over the same verified
SMTP channel as the digests (:class:`alertbot.deliver.email.EmailChannel`). It
is not an outbox row: the user is waiting in Slack for it, so it is sent at once and a
failure is reported back to them (the caller catches the exception) instead of being
retried in the background.
"""

from __future__ import annotations

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
    text = (
        environment()
        .get_template("email/confirm.txt")
        .render(
            address=address,
            confirm_url=confirm_url,
            expires_days=CONFIRM_MAX_AGE_SECONDS // 86400,
        )
    )
    _, data = text_message_bytes(
        subject=SUBJECT,
        from_address=settings.smtp.from_address,
        to_address=address,
        sent_at=now,
        text=text,
    )
    return data


def send_confirmation(settings: Settings, address: str, confirm_url: str, now: datetime) -> None:
    """Mail ``confirm_url`` to ``address``; raises :class:`DeliveryError` on failure.

    Through :class:`EmailChannel`, so a refusal is classified like a digest's (a 5xx is
    permanent, a timeout after DATA "unknown") in the error the user is shown.
    """
    channel = EmailChannel(settings.smtp)
    try:
        message = confirmation_message(settings, address, confirm_url, now=now)
        channel.send_bytes(one_line(address), message)
    finally:
        channel.close()


def signin_message(settings: Settings, address: str, signin_url: str, *, now: datetime) -> bytes:
    """The sign-in link email, ready for SMTP DATA (dated ``now``)."""
    text = (
        environment()
        .get_template("email/signin.txt")
        .render(
            address=address,
            signin_url=signin_url,
            expires_minutes=SIGNIN_MAX_AGE_SECONDS // 60,
        )
    )
    _, data = text_message_bytes(
        subject=SIGNIN_SUBJECT,
        from_address=settings.smtp.from_address,
        to_address=address,
        sent_at=now,
        text=text,
    )
    return data


def send_signin_link(settings: Settings, address: str, signin_url: str, now: datetime) -> None:
    """Mail ``signin_url`` to ``address``; raises :class:`DeliveryError` on failure."""
    channel = EmailChannel(settings.smtp)
    try:
        channel.send_bytes(
            one_line(address), signin_message(settings, address, signin_url, now=now)
        )
    finally:
        channel.close()

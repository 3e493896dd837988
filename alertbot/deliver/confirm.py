"""The double opt-in email that ``/subscribe email ADDRESS`` sends.

A plain-text message with the signed confirmation link, sent over the same verified
SMTP channel as the digests (:class:`alertbot.deliver.email.EmailChannel`). It
is not an outbox row: the user is waiting in Slack for it, so it is sent at once and a
failure is reported back to them (the caller catches the exception) instead of being
retried in the background.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import jinja2

from alertbot.config import Settings
from alertbot.deliver.email import HEADER_POLICY, EmailChannel
from alertbot.deliver.mime import sender_domain
from alertbot.render import find_templates
from alertbot.render.parts import one_line
from alertbot.tokens import CONFIRM_MAX_AGE_SECONDS

SUBJECT = "Confirm your alertbot digests"


def confirmation_message(settings: Settings, address: str, confirm_url: str) -> bytes:
    """The confirmation email, ready for SMTP DATA."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(find_templates()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # plain text  # noqa: S701
    )
    text = env.get_template("email/confirm.txt").render(
        address=address,
        confirm_url=confirm_url,
        expires_days=CONFIRM_MAX_AGE_SECONDS // 86400,
    )
    msg = EmailMessage(policy=HEADER_POLICY)
    msg["Subject"] = SUBJECT
    msg["From"] = one_line(settings.smtp.from_address)
    msg["To"] = one_line(address)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender_domain(settings.smtp.from_address))
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, subtype="plain", cte="quoted-printable")
    return msg.as_bytes()


def send_confirmation(settings: Settings, address: str, confirm_url: str) -> None:
    """Mail ``confirm_url`` to ``address``; raises :class:`DeliveryError` on failure.

    Through :class:`EmailChannel`, so a refusal is classified like a digest's (a 5xx is
    permanent, a timeout after DATA "unknown") in the error the user is shown.
    """
    channel = EmailChannel(settings.smtp)
    try:
        channel.send_bytes(one_line(address), confirmation_message(settings, address, confirm_url))
    finally:
        channel.close()

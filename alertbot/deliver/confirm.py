"""The double opt-in email that ``/subscribe email ADDRESS`` sends.

A plain-text message with the signed confirmation link, sent over the same verified
SMTP connection code as the digests (:func:`alertbot.deliver.email.connect_smtp`). It
is not an outbox row: the user is waiting in Slack for it, so it is sent at once and a
failure is reported back to them (the caller catches the exception) instead of being
retried in the background.
"""

from __future__ import annotations

import contextlib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import jinja2

from alertbot.config import Settings
from alertbot.deliver.email import HEADER_POLICY, connect_smtp, one_line, sender_domain
from alertbot.render import find_templates
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
    """Mail ``confirm_url`` to ``address``; raises (smtplib or DeliveryError) on failure."""
    data = confirmation_message(settings, address, confirm_url)
    smtp = connect_smtp(settings.smtp)
    try:
        envelope_from = parseaddr(one_line(settings.smtp.from_address))[1]
        smtp.sendmail(envelope_from, [one_line(address)], data)
    finally:
        # The message is already accepted or already failed; a QUIT error changes neither.
        with contextlib.suppress(Exception):
            smtp.quit()

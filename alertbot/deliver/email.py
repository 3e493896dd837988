"""Email over SMTP: one verified TLS connection reused for a batch.

Security is never opportunistic: ``ssl`` is implicit TLS (port 465), ``starttls``
fails if the server does not offer STARTTLS, and both verify the server's certificate
with ``ssl.create_default_context()`` (smtplib's own default does not verify). Plain
SMTP (``none``) is refused by the settings unless the relay is on loopback.

The SMTP transaction is driven command by command (MAIL, RCPT, DATA) rather than with
``send_message``, because what a failure means depends on when it happens:

* a 5xx reply is permanent; a 4xx reply, a refused connection, or a timeout or
  disconnect *before* the final ``.`` of DATA is transient (nothing was accepted);
* a timeout or disconnect *after* the final ``.`` is **unknown**. RFC 5321 (4.1.1.4,
  6.1) makes the server responsible for the message once it has the final dot, and a
  server may deliver it even if its 250 reply never reached us. Resending would risk a
  duplicate, so the row goes to state ``unknown``, is shown by ``alertbot deliveries
  list`` and is not resent automatically (``alertbot deliveries retry ID`` does it).

A reused connection the server has closed (idle timeout, restart) shows up at MAIL as a
disconnect or a 421 reply; the channel reconnects once and carries on, which is safe
because nothing of that message had been sent.

An AUTH failure (535) is treated as transient although it is a 5xx: it is our
configuration, not this message, that is wrong, and the digests should go out once the
password is fixed rather than be dropped.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP as SMTP_POLICY
from email.utils import getaddresses, parseaddr
from typing import ClassVar

from alertbot.config import SmtpSettings
from alertbot.deliver.base import DeliveryError, Rendered
from alertbot.deliver.mime import Envelope, message_bytes, sender_domain
from alertbot.logs import get_logger
from alertbot.model import Digest, EndpointKind
from alertbot.render.parts import one_line

log = get_logger(__name__)

# Lines may be up to 998 octets (RFC 5322 2.1.1). At the default 78 the email package
# turns an unbreakable header value, such as List-Unsubscribe's URL with its long token,
# into RFC 2047 encoded words, which mail clients do not decode in that header.
HEADER_POLICY = SMTP_POLICY.clone(max_line_length=998)
_LEADING_DOT = re.compile(rb"(?m)^\.")
_CRLF = b"\r\n"


def envelope_for(
    rendered: Rendered,
    *,
    from_address: str,
    unsubscribe_mailto: str | None,
    outbox_id: int,
    to_address: str | None = None,
) -> Envelope:
    """The header values of one digest's email (``to_address``: default the endpoint's)."""
    if rendered.email is None:
        raise ValueError("the digest was not rendered as an email")
    digest = rendered.digest
    return Envelope(
        subject=rendered.email.subject,
        from_address=from_address,
        to_name=digest.subscriber.name,
        to_address=to_address or digest.endpoint.address,
        sent_at=rendered.sent_at,
        unsubscribe_url=rendered.unsubscribe_url,
        unsubscribe_mailto=unsubscribe_mailto,
        outbox_id=outbox_id,
    )


def build_message(
    rendered: Rendered,
    *,
    from_address: str,
    unsubscribe_mailto: str | None = None,
    outbox_id: int,
    eight_bit: bool = False,
    to_address: str | None = None,
) -> EmailMessage:
    """The email for one digest: multipart/alternative, text first, then HTML.

    The file channel's ``.eml``: the bytes :func:`alertbot.deliver.mime.message_bytes`
    writes for SMTP, parsed back, so ``alertbot demo`` shows what SMTP would send.
    """
    envelope = envelope_for(
        rendered,
        from_address=from_address,
        unsubscribe_mailto=unsubscribe_mailto,
        outbox_id=outbox_id,
        to_address=to_address,
    )
    assert rendered.email is not None  # envelope_for checked
    _, data = message_bytes(envelope, rendered.email.text, rendered.email.html, eight_bit=eight_bit)
    msg = BytesParser(EmailMessage, policy=HEADER_POLICY).parsebytes(data)
    assert isinstance(msg, EmailMessage)  # the parser builds the class it is given
    return msg


def connect_smtp(settings: SmtpSettings) -> smtplib.SMTP:
    """Open, secure and authenticate an SMTP connection as ``settings`` say.

    Raises ``smtplib.SMTPNotSupportedError`` when STARTTLS is required but not offered.
    """
    if not settings.host:
        raise DeliveryError("no SMTP relay configured (smtp.host)")
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    helo = sender_domain(settings.from_address)
    smtp: smtplib.SMTP
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            local_hostname=helo,
            timeout=settings.timeout_seconds,
            context=context,
        )
    else:
        smtp = smtplib.SMTP(
            settings.host, settings.port, local_hostname=helo, timeout=settings.timeout_seconds
        )
    try:
        smtp.ehlo()
        if settings.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else ""
            smtp.login(settings.username, password)
    except BaseException:
        smtp.close()
        raise
    return smtp


class EmailChannel:
    """Sends digests through one SMTP relay, reusing the connection across a batch."""

    kind: ClassVar[EndpointKind] = EndpointKind.EMAIL
    renders: ClassVar[frozenset[str]] = frozenset({"email"})

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        connect: Callable[[SmtpSettings], smtplib.SMTP] = connect_smtp,
    ) -> None:
        self.settings = settings
        self._connect = connect
        self._smtp: smtplib.SMTP | None = None
        self._sender = parseaddr(settings.from_address)[1]
        self.connections_opened = 0
        self.messages_sent = 0
        self.bytes_sent = 0
        self.last_message = b""  # the last message accepted (``bench deliver`` replays it)

    def send(self, digest: Digest, rendered: Rendered, *, outbox_id: int) -> str | None:
        """Send one digest; returns its Message-ID. Raises :class:`DeliveryError`."""
        recipients = [addr for _, addr in getaddresses([digest.endpoint.address]) if addr]
        if len(recipients) != 1:
            raise DeliveryError(
                f"not one email address: {digest.endpoint.address!r}", permanent=True
            )
        envelope = envelope_for(
            rendered,
            from_address=self.settings.from_address,
            unsubscribe_mailto=self.settings.unsubscribe_mailto,
            outbox_id=outbox_id,
        )
        assert rendered.email is not None  # envelope_for checked
        text, html = rendered.email.text, rendered.email.html
        message_id = ""

        def build(eight_bit: bool) -> bytes:
            nonlocal message_id
            message_id, data = message_bytes(envelope, text, html, eight_bit=eight_bit)
            return data

        self._transaction(recipients[0], build)
        return message_id

    def send_bytes(self, recipient: str, data: bytes) -> None:
        """One SMTP transaction (MAIL, RCPT, DATA) for a ready-made 7-bit message."""
        self._transaction(recipient, lambda _eight_bit: data)

    def _transaction(self, recipient: str, build: Callable[[bool], bytes]) -> None:
        # The message is built once the connection is up: whether its parts may go 8bit
        # depends on the relay advertising 8BITMIME (RFC 6152).
        try:
            smtp = self._mail_from()
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                self._refused("RCPT", code, reply)
            self._data(smtp, build(self._eight_bit(smtp)))
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise DeliveryError(f"SMTP login refused: {_reply_text(exc)}") from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {_reply_text(exc)}", permanent=exc.smtp_code >= 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Connection refused, TLS failures, timeouts and disconnects before the final
            # dot: the server has not taken the message, so trying again is safe.
            self.close()
            raise DeliveryError(f"SMTP {exc.__class__.__name__}: {exc}") from exc

    @staticmethod
    def _eight_bit(smtp: smtplib.SMTP) -> bool:
        return bool(smtp.has_extn("8bitmime"))

    def _mail_from(self) -> smtplib.SMTP:
        reused = self._smtp is not None
        smtp = self._connection()
        try:
            code, reply = smtp.mail(self._sender, self._mail_options(smtp))
        except smtplib.SMTPServerDisconnected:
            if not reused:
                raise
            code, reply = 421, b"connection closed"
        if code == 421 and reused:
            # The server dropped our idle connection; nothing of this message was sent.
            log.info("smtp connection lost, reconnecting", host=self.settings.host)
            self.close()
            smtp = self._connection()
            code, reply = smtp.mail(self._sender, self._mail_options(smtp))
        if code != 250:
            self._refused("MAIL", code, reply)
        return smtp

    def _mail_options(self, smtp: smtplib.SMTP) -> list[str]:
        # Declared whenever the relay supports it: BODY=8BITMIME allows 8bit parts and
        # is harmless for a message that turns out to be 7-bit.
        return ["BODY=8BITMIME"] if self._eight_bit(smtp) else []

    def _data(self, smtp: smtplib.SMTP, data: bytes) -> None:
        smtp.putcmd("data")
        code, reply = smtp.getreply()
        if code != 354:
            self._refused("DATA", code, reply)
        payload = _LEADING_DOT.sub(b"..", data)
        if not payload.endswith(_CRLF):
            payload += _CRLF
        # smtp.send raises SMTPServerDisconnected if the socket fails: the last bytes,
        # the final dot, did not all leave, so the server cannot have taken the message.
        smtp.send(payload + b"." + _CRLF)
        try:
            code, reply = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise DeliveryError(
                f"no reply after the final dot of DATA ({exc}); it may have been delivered",
                unknown=True,
            ) from exc
        if code != 250:
            self._refused("DATA", code, reply)
        self.messages_sent += 1
        self.bytes_sent += len(payload)
        self.last_message = data

    def _refused(self, stage: str, code: int, reply: bytes) -> None:
        text = reply.decode("utf-8", "replace")
        if self._smtp is not None:
            try:
                self._smtp.rset()  # keep the connection usable for the next message
            except (smtplib.SMTPException, OSError):
                self.close()
        if code == 421:
            self.close()
        raise DeliveryError(f"SMTP {code} at {stage}: {one_line(text)}", permanent=code >= 500)

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect(self.settings)
            self.connections_opened += 1
        return self._smtp

    def close(self) -> None:
        """QUIT the connection if one is open."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _reply_text(exc: smtplib.SMTPResponseException) -> str:
    raw = exc.smtp_error
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return one_line(text)

"""Email over SMTP: one verified TLS connection reused for a batch.

Security is never opportunistic: ``ssl`` is implicit TLS (port 465), ``starttls``
fails if the server does not offer STARTTLS, and both verify the server's certificate
with ``ssl.create_default_context()`` (smtplib's own default does not verify). Plain
SMTP (``none``) is refused by the settings unless the relay is on loopback.

The SMTP transaction is driven command by command (MAIL, RCPT, DATA) rather than with
``send_message``, because what a failure means depends on when it happens (the
:class:`~alertbot.deliver.outcome.Outcome`). smtplib has no PIPELINING (RFC 2920), so
where the relay offers it the three commands go in one write and their replies are
read together, each still checked before the body is sent (``_commands``):

* a 5xx reply is ``permanent``, a 4xx reply ``transient``;
* no connection, a timeout or a disconnect *before* the final ``.`` of DATA, or a 421
  (the server closing) is ``relay_down``: nothing was accepted, trying again is safe,
  and enough of them in a row back the whole relay off (its circuit breaker);
* a timeout or disconnect *after* the final ``.`` is ``maybe_delivered``. RFC 5321
  (4.1.1.4, 6.1) makes the server responsible for the message once it has the final
  dot, and a server may deliver it even if its 250 reply never reached us. Resending
  would risk a duplicate, so the row goes to state ``unknown``, is shown by ``alertbot
  deliveries list`` and is not resent automatically (``alertbot deliveries retry ID``).

The body is sent first, then the ``hand_over`` hook runs (the worker records that the
server may soon have the message), then the final dot: the window in which a killed
worker cannot know whether the server took the message is the dot's round trip, and
from the hook on the row says so. If the hook fails, the connection is dropped without
the dot, so the server discards the message.

A reused connection the server has closed (idle timeout, restart) shows up at MAIL as a
disconnect or a 421 reply; the channel reconnects once and carries on, which is safe
because nothing of that message had been sent.

An AUTH failure (535, or 530 "authentication required") is ``credentials_broken``:
retried although it is a 5xx, since it is our configuration, not this message, that is
wrong, and the digests should go out once the password is fixed rather than be dropped.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from email.utils import getaddresses, parseaddr
from typing import ClassVar, NoReturn

from alertbot.config_sections import SmtpSettings
from alertbot.deliver.base import DeliveryError, HandOver, Rendered, nothing_to_record
from alertbot.deliver.mime import envelope_for, message_bytes, sender_domain
from alertbot.deliver.outcome import Outcome
from alertbot.logs import get_logger
from alertbot.model import Digest, EndpointKind
from alertbot.render.parts import one_line

log = get_logger(__name__)

_CRLF = b"\r\n"
# Replies that mean our login is missing or refused, whatever the stage.
_AUTH_REFUSED = frozenset({530, 535})
# The replies that let a transaction go on, per command.
_GOOD = {"MAIL": (250,), "RCPT": (250, 251), "DATA": (354,)}


def connect_smtp(settings: SmtpSettings) -> smtplib.SMTP:
    """Open, secure and authenticate an SMTP connection as ``settings`` say.

    Raises ``smtplib.SMTPNotSupportedError`` when STARTTLS is required but not offered.
    """
    if not settings.host:
        raise DeliveryError("no SMTP relay configured (smtp.host)", Outcome.RELAY_DOWN)
    # Built only when used: loading the system's CA store costs about 0.1 s.
    context = (
        None
        if settings.security == "none"
        else ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    )
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
        # MAIL FROM's argument, quoted once: smtplib's mail() parses the address again
        # for every message.
        self._mail_from_arg = f"FROM:{smtplib.quoteaddr(self._sender)}"
        self.connections_opened = 0
        self.messages_sent = 0
        self.bytes_sent = 0
        self.last_message = b""  # the last message accepted (``bench deliver`` replays it)

    @property
    def relay(self) -> str:
        return f"smtp://{self.settings.host}:{self.settings.port}"

    def send(
        self, digest: Digest, rendered: Rendered, *, outbox_id: int, hand_over: HandOver
    ) -> str | None:
        """Send one digest; returns its Message-ID. Raises :class:`DeliveryError`."""
        recipients = [addr for _, addr in getaddresses([digest.endpoint.address]) if addr]
        if len(recipients) != 1:
            raise DeliveryError(
                f"not one email address: {digest.endpoint.address!r}", Outcome.PERMANENT
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

        self._transaction(recipients[0], build, hand_over)
        return message_id

    def send_bytes(self, recipient: str, data: bytes) -> None:
        """One SMTP transaction (MAIL, RCPT, DATA) for a ready-made 7-bit message."""
        self._transaction(recipient, lambda _eight_bit: data, nothing_to_record)

    def _transaction(
        self, recipient: str, build: Callable[[bool], bytes], hand_over: HandOver
    ) -> None:
        # The message is built once the connection is up: whether its parts may go 8bit
        # depends on the relay advertising 8BITMIME (RFC 6152).
        try:
            smtp = self._envelope(recipient)
            self._data(smtp, build(self._eight_bit(smtp)), hand_over)
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise DeliveryError(
                f"SMTP login refused: {_reply_text(exc)}", Outcome.CREDENTIALS_BROKEN
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # A refusal while connecting (greeting, EHLO, STARTTLS): the relay, not this
            # message, is not working.
            self.close()
            raise DeliveryError(
                f"SMTP {exc.smtp_code} from {self.relay}: {_reply_text(exc)}", Outcome.RELAY_DOWN
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Connection refused, TLS failures, timeouts and disconnects before the final
            # dot: the server has not taken the message, so trying again is safe.
            self.close()
            raise DeliveryError(
                f"SMTP {exc.__class__.__name__} ({self.relay}): {exc}", Outcome.RELAY_DOWN
            ) from exc

    @staticmethod
    def _eight_bit(smtp: smtplib.SMTP) -> bool:
        return bool(smtp.has_extn("8bitmime"))

    def _envelope(self, recipient: str) -> smtplib.SMTP:
        """MAIL, RCPT and DATA, up to the server's 354: the connection, ready for the body."""
        reused = self._smtp is not None
        smtp = self._connection()
        try:
            replies = self._commands(smtp, recipient)
        except smtplib.SMTPServerDisconnected:
            if not reused:
                raise
            replies = [("MAIL", 421, b"connection closed")]
        if replies[0][1] == 421 and reused:
            # The server dropped our idle connection; nothing of this message was sent.
            log.info("smtp connection lost, reconnecting", host=self.settings.host)
            self.close()
            smtp = self._connection()
            replies = self._commands(smtp, recipient)
        refused = next(
            ((stage, code, reply) for stage, code, reply in replies if code not in _GOOD[stage]),
            None,
        )
        if refused is None:
            return smtp
        if replies[-1][:2] == ("DATA", 354):
            # A pipelining server that took DATA although MAIL or RCPT was refused (RFC
            # 2920 3.1 says it must not): an empty message ends it, to no recipient.
            smtp.send(b"." + _CRLF)
            smtp.getreply()
        self._refused(*refused)

    def _commands(self, smtp: smtplib.SMTP, recipient: str) -> list[tuple[str, int, bytes]]:
        """Send MAIL, RCPT and DATA; their replies, up to the first refusal.

        A relay that offers PIPELINING (RFC 2920; Postfix, Exim and the large mail
        services do) gets the three in one write and answers them together: one round
        trip instead of three, which on a relay across the internet is most of the time
        a message takes. Each reply is still checked, in order, before the body is sent.
        BODY=8BITMIME is declared whenever the relay supports it: it allows 8bit parts
        and is harmless for a 7-bit message.
        """
        mail = self._mail_from_arg + (" BODY=8BITMIME" if self._eight_bit(smtp) else "")
        rcpt = f"TO:{smtplib.quoteaddr(recipient)}"
        if not smtp.has_extn("pipelining"):
            replies = []
            for stage, command, argument in (("MAIL", "mail", mail), ("RCPT", "rcpt", rcpt)):
                smtp.putcmd(command, argument)
                code, reply = smtp.getreply()
                replies.append((stage, code, reply))
                if code not in _GOOD[stage]:
                    return replies
            smtp.putcmd("data")
            return [*replies, ("DATA", *smtp.getreply())]
        smtp.send(f"mail {mail}\r\nrcpt {rcpt}\r\ndata\r\n")
        code, reply = smtp.getreply()
        if code == 421:  # closing: the other two replies will not come
            return [("MAIL", code, reply)]
        return [("MAIL", code, reply), ("RCPT", *smtp.getreply()), ("DATA", *smtp.getreply())]

    def _data(self, smtp: smtplib.SMTP, data: bytes, hand_over: HandOver) -> None:
        payload = dot_stuffed(data)
        if not payload.endswith(_CRLF):
            payload += _CRLF
        smtp.send(payload)
        try:
            hand_over()
        except BaseException:
            # Dropped without the final dot, the server discards the message. (Not
            # QUIT: inside DATA that line would be taken as part of the message.)
            self._smtp = None
            smtp.close()
            raise
        # smtp.send raises SMTPServerDisconnected if the socket fails: the final dot did
        # not all leave, so the server cannot have taken the message.
        smtp.send(b"." + _CRLF)
        try:
            code, reply = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise DeliveryError(
                f"no reply after the final dot of DATA ({exc}); it may have been delivered",
                Outcome.MAYBE_DELIVERED,
            ) from exc
        if code != 250:
            self._refused("DATA", code, reply)
        self.messages_sent += 1
        self.bytes_sent += len(payload)
        self.last_message = data

    def _refused(self, stage: str, code: int, reply: bytes) -> NoReturn:
        text = reply.decode("utf-8", "replace")
        if self._smtp is not None:
            try:
                self._smtp.rset()  # keep the connection usable for the next message
            except (smtplib.SMTPException, OSError):
                self.close()
        if code == 421:
            self.close()
        raise DeliveryError(f"SMTP {code} at {stage}: {one_line(text)}", reply_outcome(code))

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = self._connect(self.settings)
            if smtp.sock is not None:
                # The final dot goes in a write of its own after the hand-over hook; with
                # Nagle's algorithm those three bytes could wait for the ACK of the body
                # (up to a delayed-ACK timeout) on every message.
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._smtp = smtp
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


def dot_stuffed(data: bytes) -> bytes:
    """``data`` with each line that starts with a dot given a second one (RFC 5321
    4.5.2), so no line of the message reads as DATA's end. A replace, not a multi-line
    regex: on a 30 kB digest the regex took ten times as long."""
    stuffed = data.replace(b"\n.", b"\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def reply_outcome(code: int) -> Outcome:
    """What an SMTP reply refusing a command means."""
    if code == 421:  # the server is closing the connection: the relay, not the message
        return Outcome.RELAY_DOWN
    if code in _AUTH_REFUSED:
        return Outcome.CREDENTIALS_BROKEN
    return Outcome.PERMANENT if code >= 500 else Outcome.TRANSIENT


def _reply_text(exc: smtplib.SMTPResponseException) -> str:
    raw = exc.smtp_error
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return one_line(text)

"""The wire bytes of a digest email, built directly rather than through ``EmailMessage``.

``EmailMessage`` with a modern policy parses every header it is given into a tree and
folds it back on output, and encodes quoted-printable in pure Python: for a digest that
was several milliseconds per message, more than the SMTP exchange. The message has a
fixed shape (a handful of headers, ``multipart/alternative`` with a text and an HTML
part), so it is written here line by line, with the C encoders of ``binascii``.

Header values are made one line (``one_line``) before anything else, so a CR or LF in a
paper title can never start a header of its own; a value with non-ASCII text becomes
RFC 2047 encoded words (``b`` words of whole characters, folded with CRLF + space).

A body part is sent ``8bit`` when the relay advertises 8BITMIME and every line of the
part fits RFC 5322's 998 octets (no NUL, no bare CR): the smallest encoding and the one
with the fewest lines. Otherwise the text part is quoted-printable and the HTML part
base64, both at 76 characters per line as RFC 2045 requires.

A digest's header values come from its rendering (:func:`envelope_for`); the file
channel's ``.eml`` is these same bytes parsed back (:func:`build_message`), so what
``alertbot demo`` writes is what SMTP sends.
"""

from __future__ import annotations

import binascii
import functools
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.charset import Charset
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from alertbot.deliver.base import Rendered
from alertbot.render.parts import one_line

MAX_LINE = 998  # octets, CRLF excluded (RFC 5322 2.1.1)
B64_LINE = 76
# Octets per encoded word: 52 base64 characters, a 64-character word, under RFC 2047's 75
# and within 76 a line with the header's name.
WORD_BYTES = 39
_CRLF = b"\r\n"
_UTF8 = Charset("utf-8")


@functools.lru_cache(maxsize=64)  # the configured From address, once per message
def sender_domain(from_address: str) -> str:
    """The domain of the From address: used for Message-IDs and EHLO (never the host name)."""
    _, address = parseaddr(from_address)
    domain = address.rpartition("@")[2].strip()
    return domain or "localhost"


@dataclass(frozen=True, slots=True)
class Envelope:
    """What goes into the headers of one digest email (values not yet made one line)."""

    subject: str
    from_address: str
    to_name: str
    to_address: str
    sent_at: datetime
    unsubscribe_url: str
    unsubscribe_mailto: str | None
    outbox_id: int


def message_bytes(
    envelope: Envelope, text: str, html: str, *, eight_bit: bool = False
) -> tuple[str, bytes]:
    """``(Message-ID, the message as CRLF bytes)``: multipart/alternative, text then HTML."""
    message_id = make_msgid(
        idstring=f"o{envelope.outbox_id}", domain=sender_domain(envelope.from_address)
    )
    unsubscribe = [f"<{one_line(envelope.unsubscribe_url)}>"]
    if envelope.unsubscribe_mailto:
        unsubscribe.append(f"<mailto:{one_line(envelope.unsubscribe_mailto)}?subject=unsubscribe>")
    plain = _part("plain", text, eight_bit=eight_bit, fallback="quoted-printable")
    rich = _part("html", html, eight_bit=eight_bit, fallback="base64")
    boundary = _boundary(plain, rich)
    head = [
        _header("Subject", one_line(envelope.subject)),
        _header("From", _mailbox_from(envelope.from_address), structured=True),
        _header("To", _mailbox(envelope.to_name, envelope.to_address), structured=True),
        _header("Date", format_datetime(envelope.sent_at), structured=True),
        _header("Message-ID", message_id, structured=True),
        # RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" to the URL.
        _header("List-Unsubscribe", ", ".join(unsubscribe), structured=True),
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        b"Auto-Submitted: auto-generated",
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/alternative; boundary="' + boundary + b'"',
    ]
    dash = b"--" + boundary
    data = b"".join(
        (
            _CRLF.join(head),
            _CRLF + _CRLF + dash + _CRLF,
            plain,
            _CRLF + dash + _CRLF,
            rich,
            _CRLF + dash + b"--" + _CRLF,
        )
    )
    return message_id, data


def text_message_bytes(
    *, subject: str, from_address: str, to_address: str, sent_at: datetime, text: str
) -> tuple[str, bytes]:
    """``(Message-ID, bytes)`` of a one-part text/plain message (confirmation and sign-in
    emails): the same header rules as a digest, quoted-printable body, no unsubscribe."""
    message_id = make_msgid(domain=sender_domain(from_address))
    head = [
        _header("Subject", one_line(subject)),
        _header("From", _mailbox_from(from_address), structured=True),
        _header("To", _mailbox("", to_address), structured=True),
        _header("Date", format_datetime(sent_at), structured=True),
        _header("Message-ID", message_id, structured=True),
        b"Auto-Submitted: auto-generated",
        b"MIME-Version: 1.0",
    ]
    part = _part("plain", text, eight_bit=False, fallback="quoted-printable")
    return message_id, _CRLF.join(head) + _CRLF + part


def _header(name: str, value: str, *, structured: bool = False) -> bytes:
    # A structured value (addresses, URLs, dates) is already in its encoded form: an
    # "=?" in it is an encoded word of formataddr's, in free text it would be decoded.
    plain = structured or "=?" not in value
    if plain and value.isascii() and len(name) + 2 + len(value) <= MAX_LINE:
        return f"{name}: {value}".encode("ascii")
    # Non-ASCII or too long for one line: RFC 2047 encoded words, folded.
    return f"{name}: {_encoded_words(value)}".encode("ascii")


def _encoded_words(value: str) -> str:
    """``value`` as RFC 2047 ``b`` words of whole UTF-8 characters, one per folded line.

    ``email.header.Header`` does the same in time quadratic in the length (0.3 ms
    for a digest's subject with a non-Latin title); readers ignore the folding white
    space between adjacent words, so the text decodes back exactly.
    """
    data = value.encode("utf-8")
    words = []
    start = 0
    while start < len(data):
        end = min(start + WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a character
            end -= 1
        chunk = binascii.b2a_base64(data[start:end], newline=False).decode("ascii")
        words.append(f"=?utf-8?b?{chunk}?=")
        start = end
    return "\r\n ".join(words)


def _mailbox(name: str, address: str) -> str:
    # one_line drops bidi controls (a U+202E in a name would reverse the text shown after
    # it), keeping joiners that join (an emoji such as 👩‍🔬 stays whole).
    address, name = one_line(address), one_line(name)
    if not address.isascii() or "@" not in address or any(c in address for c in '<>",'):
        return address  # not a plain addr-spec: shown as given (the RCPT check refuses it)
    if "=?" in name:
        # formataddr writes an ASCII name as it is, and a reader decodes any "=?...?=" in
        # it: a name could smuggle a U+202E that way. Encoded here, it reads back as typed.
        return f"{_UTF8.header_encode(name)} <{address}>"
    return formataddr((name, address), charset="utf-8")


@functools.lru_cache(maxsize=64)
def _mailbox_from(from_address: str) -> str:
    name, address = parseaddr(one_line(from_address))
    if not address:
        return one_line(from_address)
    return _mailbox(name, address)


def _fits_8bit(data: bytes) -> bool:
    # No "\r" is left to look for: _part normalised the line ends.
    return b"\0" not in data and max(map(len, data.split(b"\n")), default=0) <= MAX_LINE


def _part(subtype: str, content: str, *, eight_bit: bool, fallback: str) -> bytes:
    # Newlines are normalised first so every encoding sees the same lines.
    if "\r" in content:
        content = content.replace("\r\n", "\n").replace("\r", "\n")
    data = content.encode("utf-8")
    if not data.endswith(b"\n"):
        data += b"\n"
    if eight_bit and _fits_8bit(data):
        cte, body = "8bit", data.replace(b"\n", _CRLF)
    elif fallback == "quoted-printable":
        # binascii writes soft line breaks at 76 and keeps the input's "\n" line ends.
        cte = fallback
        body = binascii.b2a_qp(data, quotetabs=False, istext=True).replace(b"\n", _CRLF)
    else:
        cte = "base64"
        # Text is encoded in its canonical form, CRLF line ends (RFC 2046 4.1.1).
        flat = binascii.b2a_base64(data.replace(b"\n", _CRLF), newline=False)
        body = _CRLF.join(flat[i : i + B64_LINE] for i in range(0, len(flat), B64_LINE))
        body += _CRLF
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}'
    # The body ends with CRLF; the CRLF before the next boundary belongs to the boundary
    # (RFC 2046 5.1.1), so the content keeps its last line break.
    return head.encode("ascii") + _CRLF + _CRLF + body


def _boundary(*parts: bytes) -> bytes:
    # A random boundary that, however unlikely, must not occur in an 8bit part.
    while True:
        boundary = f"=_alertbot_{secrets.token_hex(12)}".encode("ascii")
        if not any(boundary in part for part in parts):
            return boundary


# Lines may be up to 998 octets (RFC 5322 2.1.1). At the default 78 the email package
# turns an unbreakable header value, such as List-Unsubscribe's URL with its long token,
# into RFC 2047 encoded words, which mail clients do not decode in that header.
HEADER_POLICY = SMTP_POLICY.clone(max_line_length=998)


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

    The file channel's ``.eml``: the bytes :func:`message_bytes`
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

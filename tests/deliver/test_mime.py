"""The digest email's wire bytes, read back with the standard ``email`` package."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from alertbot.deliver.mime import Envelope, message_bytes

SENT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def envelope(**changes: object) -> Envelope:
    values: dict[str, object] = {
        "subject": "alertbot: 3 new papers",
        "from_address": "alertbot <alertbot@example.org>",
        "to_name": "Reader",
        "to_address": "reader@example.org",
        "sent_at": SENT,
        "unsubscribe_url": "https://alertbot.example.org/unsubscribe?token=abc",
        "unsubscribe_mailto": None,
        "outbox_id": 7,
    }
    values.update(changes)
    return Envelope(**values)  # type: ignore[arg-type]


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def body(msg: EmailMessage, kind: str) -> str:
    part = msg.get_body((kind,))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


@pytest.mark.parametrize("eight_bit", [False, True])
def test_it_round_trips_text_and_html_exactly(eight_bit: bool) -> None:
    """Both parts decode to exactly what was rendered, whichever encoding was chosen."""
    text = "Ünïcode · line one\n" + "a long line = with equals " * 20 + "\n\nend\n"
    html = "<p>Диффузия &amp; <mark>x</mark></p>\n" * 50
    message_id, data = message_bytes(envelope(), text, html, eight_bit=eight_bit)
    msg = parse(data)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    # The parser keeps the wire's CRLF line ends in the decoded content.
    decoded = (body(msg, "plain"), body(msg, "html"))
    assert tuple(d.replace("\r\n", "\n") for d in decoded) == (text, html)
    assert msg["Message-ID"] == message_id
    assert msg["Date"].datetime == SENT


@pytest.mark.parametrize("eight_bit", [False, True])
def test_it_sends_a_carriage_return_in_the_content_as_a_line_end(eight_bit: bool) -> None:
    """A CRLF or a lone CR (from a template of the reader's own) ends a line, as "\\n"
    does: every line of the message ends CRLF, and no bare CR reaches the wire."""
    text = "one\r\ntwo\rthree\nfour"
    html = "<p>a</p>\r<p>b</p>\r\n"
    _, data = message_bytes(envelope(), text, html, eight_bit=eight_bit)
    assert b"\r" not in data.replace(b"\r\n", b"")
    msg = parse(data)
    decoded = (body(msg, "plain"), body(msg, "html"))
    assert decoded == ("one\r\ntwo\r\nthree\r\nfour\r\n", "<p>a</p>\r\n<p>b</p>\r\n")


def test_it_keeps_7bit_parts_within_76_columns_without_8bitmime() -> None:
    """Without 8BITMIME the parts are quoted-printable and base64, every line <= 78 octets."""
    _, data = message_bytes(
        envelope(), "é" * 500 + "\n", "<p>" + "é" * 2000 + "</p>", eight_bit=False
    )
    assert data.isascii()
    assert b"Content-Transfer-Encoding: quoted-printable" in data
    assert b"Content-Transfer-Encoding: base64" in data
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    _, _, bodies = data.partition(b"\r\n\r\n")
    assert max(len(line) for line in bodies.split(b"\r\n")) <= 78


def test_it_falls_back_from_8bit_for_a_line_longer_than_998_octets() -> None:
    """An HTML line too long for 8bit goes base64; the short text part stays 8bit."""
    _, data = message_bytes(envelope(), "short\n", "<p>" + "x" * 2000 + "</p>", eight_bit=True)
    assert b"Content-Transfer-Encoding: 8bit" in data
    assert b"Content-Transfer-Encoding: base64" in data
    assert body(parse(data), "html") == "<p>" + "x" * 2000 + "</p>\r\n"


def test_it_never_lets_crlf_in_a_header_value_make_a_header() -> None:
    """CR/LF in the subject, name or URL stay inside their header; no Bcc appears."""
    hostile = "Hi\r\nBcc: victim@example.net\r\n"
    _, data = message_bytes(
        envelope(subject=hostile, to_name=hostile, unsubscribe_url="https://x.org/u?t=1\r\nBcc: v"),
        "t\n",
        "<p>h</p>",
    )
    msg = parse(data)
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"]


def test_it_encodes_non_latin_subjects_and_names() -> None:
    """Non-ASCII header text becomes encoded words that decode back to the original."""
    subject = "alertbot: 量子拡散モデル Диффузия " + "длинный " * 30
    _, data = message_bytes(envelope(subject=subject.strip(), to_name='Zoë, "Q"'), "t\n", "h")
    assert data.split(b"\r\n\r\n")[0].isascii()
    msg = parse(data)
    assert msg["Subject"] == subject.strip()
    assert msg["To"].addresses[0].display_name == 'Zoë, "Q"'
    assert msg["To"].addresses[0].addr_spec == "reader@example.org"


@pytest.mark.parametrize(
    "title", ["量子拡散モデル" * 12, "Диффузия " * 20, "emoji 👩\u200d🔬 " * 15, "é" * 199]
)
def test_it_folds_encoded_subjects_into_short_lines_of_whole_characters(title: str) -> None:
    """Each encoded word is at most 75 characters and each line at most 76 (RFC 2047),
    and the words, cut only between characters, decode back to the subject."""
    _, data = message_bytes(envelope(subject=title.strip()), "t\n", "h")
    head = data.split(b"\r\n\r\n")[0].decode("ascii")
    subject = head.split("Subject: ", 1)[1].split("\r\nFrom:")[0]
    lines = ("Subject: " + subject).split("\r\n")
    assert all(len(line) <= 76 for line in lines)
    assert all(len(word) <= 75 for word in subject.split())
    assert parse(data)["Subject"] == title.strip()


def test_it_writes_both_list_unsubscribe_headers() -> None:
    """RFC 8058 one-click: the URL and the mailto in List-Unsubscribe, plus the Post header."""
    _, data = message_bytes(envelope(unsubscribe_mailto="u@example.org"), "t\n", "h")
    msg = parse(data)
    assert msg["List-Unsubscribe"] == (
        "<https://alertbot.example.org/unsubscribe?token=abc>, "
        "<mailto:u@example.org?subject=unsubscribe>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


@pytest.mark.parametrize(
    "name",
    [
        "Ada \u202eevil\u202c Lovelace",
        "\u2067Ada\u2069",
        "=?utf-8?b?4oCuZXZpbA==?=",  # an encoded word that decodes to U+202E + "evil"
        "=?UTF-8?Q?=E2=80=AEevil?=",
        "Ada =?utf-8?b?4oCu?= x",
    ],
    ids=["override", "isolate", "encoded-word b", "encoded-word q", "encoded word inside"],
)
def test_it_never_puts_a_bidi_control_in_the_to_display_name(name: str) -> None:
    """Whatever the subscriber's name, the decoded ``To:`` has no bidi control in it."""
    _, data = message_bytes(envelope(to_name=name), "t", "<p>h</p>")
    to = parse(data)["To"]
    (address,) = to.addresses
    assert address.addr_spec == "reader@example.org"
    assert not set(address.display_name) & set(BIDI)
    assert not set(str(to)) & set(BIDI)


def test_it_shows_a_name_that_looks_like_an_encoded_word_as_typed() -> None:
    """A name spelt like an RFC 2047 word is shown literally, not decoded by the reader."""
    name = "=?utf-8?b?4oCuZXZpbA==?="
    _, data = message_bytes(envelope(to_name=name), "t", "<p>h</p>")
    assert parse(data)["To"].addresses[0].display_name == name


def test_it_keeps_a_joined_emoji_in_the_to_display_name() -> None:
    """👩‍🔬 in a name stays one emoji in ``To:``."""
    name = "Ada \U0001f469\u200d\U0001f52c"
    _, data = message_bytes(envelope(to_name=name), "t", "<p>h</p>")
    assert parse(data)["To"].addresses[0].display_name == name

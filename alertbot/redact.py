"""URLs made safe to show: credentials in userinfo and secret-looking parameters hidden.

A source URL may carry credentials (``https://user:PW@host/feed?token=T``, a
``?api_key=``, a presigned ``X-Amz-Signature``). The real URL is used to fetch; wherever
one is shown or stored for display (log lines, CLI output, the fetch log, ``config
show``, errors) it goes through :func:`redact_url`, or :func:`redact_text` for free text
that may contain URLs, such as an exception message or a library's log line.

Userinfo follows pip's rule (``pip._internal.utils.misc.redact_auth_from_url``): in
``user:password@`` only the password is hidden, so an operator still sees which account
is used; a lone ``token@`` is hidden whole, since that is how tokens ride in URLs.

Everything here is plain string work on the raw text, never parse-and-rebuild: the rest
of the URL stays byte for byte as written, and no input, however malformed, raises.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "**********"  # as pydantic shows a SecretStr, so `config show` masks one way

# Parameter names (lower-cased, without "-", "_" or ".") that hold a secret...
_SECRET_NAMES = frozenset(
    {"key", "sig", "auth", "pass", "pw", "pwd", "code", "session", "sessionid", "jwt"}
)
# ... or that contain one of these.
_SECRET_PARTS = ("token", "secret", "passw", "signature", "credential", "apikey", "privatekey")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# A URL inside free text: a scheme, "://", then everything up to whitespace or a quote,
# less trailing punctuation ("... /feed?token=T: refused" keeps its colon).
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]*[^\s\"'<>.,;:!?)\]]")
# A secret-looking parameter outside a URL (a request path in an access log line).
_PARAM_IN_TEXT = re.compile(
    r"(?<=[?&;])([A-Za-z0-9_.%-]+)=([^&;#\s\"'<>\\]*[^&;#\s\"'<>\\.,:!?)\]])"
)


def is_secret_name(name: str) -> bool:
    """Whether a query parameter called ``name`` probably holds a credential."""
    flat = re.sub(r"[-_.]", "", unquote(name).lower())
    return (
        flat in _SECRET_NAMES
        or flat.endswith(("key", "sig", "token"))
        or any(part in flat for part in _SECRET_PARTS)
    )


def _redact_pairs(text: str) -> str:
    """``a=1&token=T`` with the values of secret-looking names masked."""
    pairs = []
    for pair in text.split("&"):
        name, eq, value = pair.partition("=")
        pairs.append(f"{name}={MASK}" if eq and value and is_secret_name(name) else pair)
    return "&".join(pairs)


def _masked_userinfo(userinfo: str) -> str:
    user, colon, _password = userinfo.partition(":")
    return f"{user}:{MASK}" if colon else MASK


def redact_url(url: str) -> str:
    """``url`` with its userinfo password (or lone token) and secret parameter values
    replaced by :data:`MASK`; anything that is not a URL comes back unchanged."""
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return url
    # Userinfo is whatever precedes the last "@" before the path: a password holding an
    # unescaped "?" or "#" is still hidden whole (an "@" in the path is not userinfo).
    slash = rest.find("/")
    at = (rest if slash < 0 else rest[:slash]).rfind("@")
    userinfo = ""
    if at >= 0:
        userinfo, rest = _masked_userinfo(rest[:at]) + "@", rest[at + 1 :]
    rest, hash_, fragment = rest.partition("#")
    rest, question, query = rest.partition("?")
    out = f"{scheme}://{userinfo}{rest}"
    if question:
        out += "?" + _redact_pairs(query)
    if hash_:
        # OAuth's implicit flow puts access_token=... in the fragment.
        out += "#" + (_redact_pairs(fragment) if "=" in fragment else fragment)
    return out


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted, and secret-looking ``?name=value``
    parameters of bare paths (``GET /unsubscribe?token=...``) too."""
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    if "=" in text:
        text = _PARAM_IN_TEXT.sub(
            lambda m: f"{m.group(1)}={MASK}" if is_secret_name(m.group(1)) else m.group(0),
            text,
        )
    return text

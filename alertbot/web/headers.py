"""The headers every answer of the app carries, and the Content-Security-Policy of pages.

Pages are reached from links in emails, with a token in the URL: the token must not
leak to other sites (``Referrer-Policy``), caches (``Cache-Control``) or search engines
(``X-Robots-Tag``), the page must not be framed (clickjacking a one-click button), and
nothing but our own inline style and script may run or load. The policy allows those by
their hashes rather than with ``'unsafe-inline'``, so an injected ``<style>`` or
``<script>`` does nothing even if escaping were ever missed.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What a page may do when it has no inline style: nothing but post its forms back here.
BASE_POLICY = "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
# The account pages: their own stylesheet and script from here, fetches back to here.
SITE_POLICY = (
    BASE_POLICY + "; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'"
)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
_STYLE = re.compile(r"<style(?:\s[^>]*)?>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def _hash_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def page_policy(html: str) -> str:
    """The strict policy for ``html``: :data:`BASE_POLICY` plus the hash of each of its
    inline ``<style>`` and ``<script>`` blocks (our templates'; user text is escaped, so
    it has none). A page with a script may also fetch from its own origin (a form posted
    in the background), nothing else."""
    styles = sorted({_hash_source(css) for css in _STYLE.findall(html)})
    scripts = sorted({_hash_source(js) for js in _SCRIPT.findall(html)})
    policy = BASE_POLICY + (f"; style-src {' '.join(styles)}" if styles else "")
    if scripts:
        policy += f"; script-src {' '.join(scripts)}; connect-src 'self'"
    return policy


def page_headers(html: str) -> dict[str, str]:
    """Every header a page sends: :data:`SECURITY_HEADERS` and its policy."""
    return {**SECURITY_HEADERS, "Content-Security-Policy": page_policy(html)}


def site_headers() -> dict[str, str]:
    """The headers of the account pages (:data:`SITE_POLICY`: no inline script or style)."""
    return {**SECURITY_HEADERS, "Content-Security-Policy": SITE_POLICY}


class SecurityHeaders:
    """ASGI middleware: adds :data:`SECURITY_HEADERS` and :data:`BASE_POLICY` to every
    answer that does not set its own (pages set a policy with their style hashes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", BASE_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""Listings over HTTP(S), with the manners a polite, robust client needs.

Timeouts on every request; bounded retries with exponential backoff for transient
failures (connection errors, timeouts, 5xx, 429 honouring ``Retry-After``); a
conditional GET with the validators of the last stored response (304 means
``not_modified``); a body-size cap enforced while streaming; a one-line error
naming the URL for everything else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from alertbot.config_sections import HttpSettings
from alertbot.logs import get_logger
from alertbot.redact import redact_text, redact_url
from alertbot.sources.base import Document, Fetched, SourceError, Validators

log = get_logger(__name__)

MAX_RETRY_AFTER = 120.0  # seconds; a longer Retry-After fails this fetch, the next one retries


def make_client(settings: HttpSettings) -> httpx.Client:
    """The client alertbot uses when none is injected."""
    return httpx.Client(
        timeout=settings.timeout_seconds,
        follow_redirects=True,
        headers={"User-Agent": settings.user_agent},
    )


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class HttpSource:
    """An ``http(s)`` URL serving one listing."""

    name: str
    location: str
    client: httpx.Client
    settings: HttpSettings
    sleep: Callable[[float], None] = field(default=time.sleep)
    skip_known_files: bool = False
    conditional: bool = True
    # What errors and documents are labelled with: the URL without its credentials.
    shown: str = field(init=False)

    def __post_init__(self) -> None:
        self.shown = redact_url(self.location)

    def fetch(self, validators: Validators | None = None) -> Fetched:
        """GET the URL (conditionally when ``validators`` are given), retrying transients."""
        headers = {"User-Agent": self.settings.user_agent}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            try:
                return self._get(headers, validators)
            except _Transient as exc:
                if attempt + 1 == attempts:
                    suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
                    raise SourceError(f"{self.shown}: {exc}{suffix}") from None
                delay = self.settings.backoff_seconds * 2**attempt
                if exc.retry_after is not None:
                    if exc.retry_after > MAX_RETRY_AFTER:
                        raise SourceError(
                            f"{self.shown}: {exc}, retry after {exc.retry_after:.0f} s"
                        ) from None
                    delay = max(delay, exc.retry_after)
                log.info(
                    "retrying fetch",
                    source=self.name,
                    error=str(exc),
                    delay=delay,
                )
                self.sleep(delay)
        raise SourceError(f"{self.shown}: no attempt made")  # unreachable: attempts >= 1

    def _get(self, headers: dict[str, str], validators: Validators | None) -> Fetched:
        try:
            with self.client.stream(
                "GET",
                self.location,
                headers=headers,
                timeout=self.settings.timeout_seconds,
                follow_redirects=True,
            ) as response:
                return self._read(response, validators)
        except httpx.TimeoutException:
            raise _Transient(f"timed out after {self.settings.timeout_seconds:g} s") from None
        except httpx.TransportError as exc:
            # httpx may quote the URL (a redirect's target, say) in its message.
            raise _Transient(f"{exc.__class__.__name__}: {redact_text(str(exc))}") from None

    def _read(self, response: httpx.Response, validators: Validators | None) -> Fetched:
        status = response.status_code
        if status == 304:
            return Fetched("not_modified", validators=validators or Validators())
        if status == 429 or status >= 500:
            raise _Transient(_status_text(response), _retry_after(response))
        if status >= 400:
            raise SourceError(f"{self.shown}: {_status_text(response)}")
        if status != 200:
            raise SourceError(f"{self.shown}: unexpected {_status_text(response)}")
        cap = self.settings.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise SourceError(f"{self.shown}: body of {declared} bytes exceeds {cap} allowed")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise SourceError(f"{self.shown}: body exceeds {cap} bytes allowed")
            chunks.append(chunk)
        return Fetched(
            "ok",
            [Document.of(self.shown, b"".join(chunks))],
            Validators(response.headers.get("ETag"), response.headers.get("Last-Modified")),
        )


def _status_text(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff

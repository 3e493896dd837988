"""The relays' circuit breakers as one ``send_due`` run sees them.

A relay that fails at the connection level ``delivery.breaker_failures`` times in a
row (a closed port, a server that accepts TCP and never speaks, a refused login) is
left alone for a backoff that grows with each opening (the rows' own backoff rule):
the batch stops sending to it, its untried rows go back to pending at no cost, and
claims skip its rows until the backoff is over. The state is in the store
(``alertbot/store/breakers.py``) so the next run and the other workers honour it.

pybreaker and circuitbreaker keep their state in process memory (or Redis); here it
must be a row every worker reads before claiming, so this is those libraries' thirty
lines over the store rather than an adapter that would be longer.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import Engine

from alertbot.config_sections import DeliverySettings
from alertbot.deliver.base import Channel
from alertbot.deliver.outcome import backoff_seconds
from alertbot.logs import get_logger
from alertbot.model import EndpointKind
from alertbot.store import breakers

log = get_logger(__name__)


class RelayBreakers:
    """Which relays are open now, and the record of each attempt's result."""

    def __init__(
        self,
        engine: Engine,
        settings: DeliverySettings,
        *,
        now: Callable[[], datetime],
        rng: random.Random,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.now = now
        self.rng = rng
        # Relays with failures on record (only those need a write when they succeed).
        self.failing = breakers.failing_relays(engine)

    def is_open(self, relay: str | None) -> bool:
        until = self.failing.get(relay) if relay else None
        return until is not None and until > self.now()

    def skipped_kinds(self, channels: Mapping[EndpointKind, Channel]) -> set[EndpointKind]:
        """The endpoint kinds whose channel's relay is open: not to be claimed now."""
        return {kind for kind, channel in channels.items() if self.is_open(channel.relay)}

    def failed(self, relay: str | None, error: str) -> bool:
        """Count a connection-level failure; True if it opened the relay's breaker."""
        if relay is None:
            return False
        until = breakers.record_failure(
            self.engine,
            relay,
            error=error,
            now=self.now(),
            threshold=self.settings.breaker_failures,
            open_seconds=self._open_seconds,
        )
        self.failing[relay] = until
        if until is not None:
            log.error("relay failing, left alone", relay=relay, until=until, error=error)
        return until is not None

    def succeeded(self, relay: str | None) -> None:
        if relay is not None and relay in self.failing:
            breakers.record_success(self.engine, relay)
            del self.failing[relay]
            log.info("relay working again", relay=relay)

    def _open_seconds(self, trips: int) -> float:
        s = self.settings
        return backoff_seconds(
            trips, base=s.backoff_base_seconds, cap=s.backoff_max_seconds, jitter=self.rng.random()
        )

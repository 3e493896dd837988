"""What one ``send_due`` run did, row by row: what ``alertbot send`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from alertbot.model import EndpointKind, OutboxState


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one outbox row in this run."""

    outbox_id: int
    subscriber_id: int
    subscriber: str
    endpoint_id: int
    kind: EndpointKind
    digest_date: date
    state: str
    n_papers: int = 0
    more: int = 0
    top_paper: str | None = None
    error: str | None = None
    message_id: str | None = None


@dataclass
class SendReport:
    """The outcome of one ``send_due`` run."""

    deliveries: list[Delivery] = field(default_factory=list)
    reclaimed: int = 0
    render_seconds: float = 0.0
    send_seconds: float = 0.0
    total_seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """Rows per final state in this run."""
        result: dict[str, int] = {}
        for d in self.deliveries:
            result[d.state] = result.get(d.state, 0) + 1
        return result

    @property
    def ok(self) -> bool:
        """True when nothing failed, died or ended unknown."""
        return not any(
            d.state in (OutboxState.FAILED, OutboxState.DEAD, OutboxState.UNKNOWN)
            for d in self.deliveries
        )

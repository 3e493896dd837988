"""What an outbox row sends: its digest rebuilt from the stored matches, then rendered
for the row's channel with the reader's signed links.

Nothing is matched again: the row's matches are what ``queue_due`` chose, explained here
when stored bare (:mod:`alertbot.store.chosen`), one :class:`~alertbot.match.Explainer`
per send run so readers who share a paper share its (interest, paper) explanations.
The send loop (``worker.py``) times the render and records each step around it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.deliver.base import Channel, DeliveryError, OpensDirectMessages, Rendered
from alertbot.links import archive_url, digest_url, suggestion_url
from alertbot.logs import get_logger
from alertbot.match import Explainer
from alertbot.model import (
    Digest,
    DigestItem,
    Endpoint,
    EndpointKind,
    FeedbackValue,
    Paper,
    Subscriber,
    Suggestion,
)
from alertbot.render import DigestLinks, Renderer
from alertbot.store import endpoints as endpoint_store
from alertbot.store import learned
from alertbot.store.outbox import OutboxRow

log = get_logger(__name__)


def with_dm_channel(engine: Engine, channel: Channel, digest: Digest) -> Digest:
    """The digest addressed to its Slack user's DM channel, opened now and stored if the
    endpoint has none yet (the first digest to a Slack user); else as it is."""
    endpoint = digest.endpoint
    if endpoint.kind is not EndpointKind.SLACK_USER or endpoint.slack_dm_channel:
        return digest
    if not isinstance(channel, OpensDirectMessages):
        return digest
    dm = channel.open_dm(endpoint)
    endpoint_store.set_dm_channel(engine, endpoint.id, dm)
    endpoint = replace(endpoint, slack_dm_channel=dm)
    subscriber = replace(
        digest.subscriber,
        endpoints=tuple(
            endpoint if e.id == endpoint.id else e for e in digest.subscriber.endpoints
        ),
    )
    return replace(digest, endpoint=endpoint, subscriber=subscriber)


def suggestion_link(settings: Settings, subscriber_id: int, suggestion: Suggestion) -> str:
    return suggestion_url(settings, subscriber_id, suggestion.kind, suggestion.query)


@dataclass
class Composer:
    """Rebuilds and renders the rows of one send run."""

    settings: Settings
    renderer: Renderer
    unsubscribe_url: Callable[[int, int], str]
    feedback_url: Callable[[int, str, FeedbackValue], str]
    # Rows stored bare are explained here; readers share (interest, paper) explanations.
    explain: Explainer = field(default_factory=Explainer)

    def rebuild(
        self,
        row: OutboxRow,
        subscriber: Subscriber,
        endpoint: Endpoint,
        papers: Mapping[str, Paper],
    ) -> Digest:
        """The digest as it was queued: the row's stored matches with their papers, explained
        here when stored bare (and, when the learned ranking ordered it, each paper's reason
        and the suggestions)."""
        matches = row.matches()
        learning = row.learning()
        reasons = learned.reasons_for(learning, len(matches))
        bare, explain = row.matches_bare, self.explain
        items = tuple(
            DigestItem(papers[m.paper_id], explain(m, papers[m.paper_id]) if bare else m, reason)
            for m, reason in zip(matches, reasons, strict=True)
            if m.paper_id in papers
        )
        if learning is None:
            return Digest(subscriber, endpoint, row.digest_date, items, more=row.more)
        return Digest(
            subscriber,
            endpoint,
            row.digest_date,
            items,
            more=row.more,
            learned=True,
            suggestions=learning.suggestions,
        )

    def render(
        self, channel: Channel, digest: Digest, outbox_id: int, *, now: Callable[[], datetime]
    ) -> Rendered:
        """The digest in each form ``channel`` sends; :class:`DeliveryError` if a
        template fails (a template bug must not stop the whole batch)."""
        sid = digest.subscriber.id
        url = self.unsubscribe_url(sid, digest.endpoint.id)
        # The row's id names the digest's web page: it exists from the moment it was queued.
        settings = self.settings
        links = DigestLinks(digest_url(settings, sid, outbox_id), archive_url(settings, sid))
        try:
            email = (
                self.renderer.email(
                    digest,
                    unsubscribe_url=url,
                    feedback_url=functools.partial(self.feedback_url, sid),
                    links=links,
                    suggestion_url=functools.partial(suggestion_link, settings, sid),
                )
                if "email" in channel.renders
                else None
            )
            slack = self.renderer.slack(digest, links) if "slack" in channel.renders else None
        except Exception as exc:
            log.exception("render failed", endpoint_id=digest.endpoint.id)
            raise DeliveryError(f"render failed: {exc.__class__.__name__}: {exc}") from exc
        return Rendered(digest=digest, unsubscribe_url=url, sent_at=now(), email=email, slack=slack)

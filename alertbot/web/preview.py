"""The account page's live preview: what a draft profile would match among the papers
of the last ``web.preview_days`` days, rendered as the digest renders them.

The same steps as a real digest: :func:`alertbot.digest.build_digest` on the recent
papers, with the term statistics of the ``match.corpus_days`` corpus the dispatcher
uses, capped at the profile's ``max_papers``; each shown paper is the email digest's
own ``email/paper.html`` (:meth:`alertbot.render.Renderer.paper_html`: highlights and
"why"). The recent papers and the statistics are loaded once and kept until a paper is
stored or a day passes, so a keystroke costs one match over them (``alertbot bench web``).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import Engine

from alertbot.config import Settings
from alertbot.corpus import window_start
from alertbot.digest import build_digest
from alertbot.match import CorpusStats, QueryError, parse_query
from alertbot.model import Endpoint, EndpointKind, Paper, Profile, Subscriber
from alertbot.render.email import Renderer
from alertbot.store.papers import papers_first_seen_between, papers_version


@dataclass(frozen=True, slots=True)
class DraftError:
    """A draft query the parser refuses: which one, and where."""

    kind: str  # interest | exclusion
    query: str
    message: str
    column: int | None


@dataclass(frozen=True, slots=True)
class Preview:
    """``total`` papers of the last ``days`` days (out of ``checked``) match; the first
    ``cap`` of them are what a digest would show (``papers``, rendered), ``error`` is
    the first draft query that does not parse (then nothing is matched)."""

    days: int
    checked: int
    total: int
    cap: int
    papers: tuple[Markup, ...] = ()
    paper_ids: tuple[str, ...] = ()
    error: DraftError | None = None

    @property
    def more(self) -> int:
        return max(self.total - len(self.papers), 0)


@dataclass(frozen=True, slots=True)
class RecentPapers:
    papers: tuple[Paper, ...]
    stats: CorpusStats


def check_draft(profile: Profile, *, max_length: int, max_clauses: int) -> DraftError | None:
    """The first query of ``profile`` the parser refuses, with its column; None if all parse."""
    for kind, queries in (("interest", profile.interests), ("exclusion", profile.exclusions)):
        for query in queries:
            try:
                parse_query(query, max_length=max_length, max_clauses=max_clauses)
            except QueryError as exc:
                return DraftError(kind, query, exc.message, exc.column)
    return None


class Previewer:
    """Previews on one store; the recent papers are loaded once per version of the store."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        now: Callable[[], datetime],
        renderer: Renderer | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.now = now
        self.renderer = renderer or Renderer(public_url=settings.web.public_url)
        self._key: tuple[object, ...] | None = None
        self._recent: RecentPapers | None = None
        self._lock = threading.Lock()

    def recent(self) -> RecentPapers:
        """The papers of the last ``web.preview_days`` days, and the statistics of the
        ``match.corpus_days`` corpus (what digests score with)."""
        now = self.now()
        days, corpus_days = self.settings.web.preview_days, self.settings.match.corpus_days
        key = (papers_version(self.engine), window_start(now, days), window_start(now, corpus_days))
        with self._lock:
            if self._key == key and self._recent is not None:
                return self._recent
        corpus = [sp.paper for sp in papers_first_seen_between(self.engine, key[2], None)]
        since = window_start(now, days)
        recent_ids = {sp.paper.id for sp in papers_first_seen_between(self.engine, since, None)}
        found = RecentPapers(
            tuple(p for p in corpus if p.id in recent_ids), CorpusStats.from_papers(corpus)
        )
        with self._lock:
            self._key, self._recent = key, found
        return found

    def preview(self, subscriber: Subscriber, profile: Profile) -> Preview:
        """What ``subscriber`` would get with ``profile`` instead of their own."""
        days = self.settings.web.preview_days
        cap = max(profile.max_papers, 0)
        limits = self.settings.match
        error = check_draft(
            profile, max_length=limits.max_query_length, max_clauses=limits.max_clauses
        )
        recent = self.recent()
        if error is not None or not profile.interests:
            return Preview(days, len(recent.papers), 0, cap, error=error)
        draft = dataclasses.replace(subscriber, profile=profile)
        # A stand-in endpoint: the preview is no delivery, and nothing is stored for it.
        endpoint = Endpoint(id=0, subscriber_id=subscriber.id, kind=EndpointKind.EMAIL, address="")
        today = self.now().astimezone(ZoneInfo(subscriber.timezone)).date()
        digest = build_digest(draft, endpoint, today, recent.papers, recent.stats)
        return Preview(
            days=days,
            checked=len(recent.papers),
            total=len(digest.items) + digest.more,
            cap=cap,
            papers=tuple(self.renderer.paper_html(item) for item in digest.items),
            paper_ids=tuple(item.paper.id for item in digest.items),
        )


def draft_profile(current: Profile, interests: Sequence[str], exclusions: Sequence[str]) -> Profile:
    """``current`` with the draft's queries (blank ones dropped, repeats once)."""
    return dataclasses.replace(
        current,
        interests=tuple(dict.fromkeys(q.strip() for q in interests if q.strip())),
        exclusions=tuple(dict.fromkeys(q.strip() for q in exclusions if q.strip())),
    )

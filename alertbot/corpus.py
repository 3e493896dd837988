"""The recent corpus: the papers term statistics are computed over, one rule for everyone.

Scores depend on how rare a term is among recent papers (its idf), so the dispatcher,
the send-time renderer and ``/subscribe preview`` must all use the same papers or a
preview would score differently from the digest it previews. The window is the papers
first stored since midnight UTC ``days`` days before ``now``: day-aligned, so that the
window, and with it the statistics, only change when a paper is stored or a day
passes, and can be kept between uses (:class:`CorpusCache`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alertbot.match import CorpusStats
from alertbot.model import Paper
from alertbot.store import Db
from alertbot.store.papers import papers_first_seen_between, papers_version


@dataclass(frozen=True, slots=True)
class Corpus:
    """The recent papers and their term statistics."""

    papers: tuple[Paper, ...]
    stats: CorpusStats


def window_start(now: datetime, days: int) -> datetime:
    """Midnight (in ``now``'s zone, UTC in practice) ``days`` days before ``now``."""
    return (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)


def load_corpus(db: Db, *, now: datetime, days: int) -> Corpus:
    """The papers first stored in the window, with their statistics."""
    papers = tuple(sp.paper for sp in papers_first_seen_between(db, window_start(now, days), None))
    return Corpus(papers, CorpusStats.from_papers(papers))


@dataclass
class CorpusCache:
    """:func:`load_corpus`, kept until a paper is stored or updated, or the window moves a day.

    Reading every recent paper and counting its terms takes seconds on a real corpus,
    too slow for Slack's 3-second acknowledgement; the cache makes it once.
    """

    _key: tuple[tuple[int, str], str] | None = None
    _corpus: Corpus | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, db: Db, *, now: datetime, days: int) -> Corpus:
        key = (papers_version(db), window_start(now, days).isoformat())
        with self._lock:
            if self._key == key and self._corpus is not None:
                return self._corpus
        corpus = load_corpus(db, now=now, days=days)
        with self._lock:
            self._key, self._corpus = key, corpus
        return corpus

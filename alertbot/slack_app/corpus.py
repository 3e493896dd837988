"""The recent papers and their term statistics, kept between commands.

Counting what a new interest would have matched reads every paper of the last
``match.corpus_days`` days and builds corpus statistics: seconds on a real corpus. The
result is kept until a paper is added or the window moves to another day.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from alertbot.match import CorpusStats
from alertbot.model import Paper
from alertbot.store.papers import count_papers, papers_first_seen_between


@dataclass(frozen=True, slots=True)
class Corpus:
    papers: tuple[Paper, ...]
    stats: CorpusStats


@dataclass
class CorpusCache:
    _key: tuple[int, str] | None = None
    _corpus: Corpus | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, engine: Engine, *, now: datetime, days: int) -> Corpus:
        """The papers first stored in the last ``days`` days (by day), with their statistics."""
        since = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
        key = (count_papers(engine), since.isoformat())
        with self._lock:
            if self._key == key and self._corpus is not None:
                return self._corpus
        papers = tuple(sp.paper for sp in papers_first_seen_between(engine, since, None))
        corpus = Corpus(papers, CorpusStats.from_papers(papers))
        with self._lock:
            self._key, self._corpus = key, corpus
        return corpus

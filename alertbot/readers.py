"""Each reader's learned ranking, from the store: their verdicts, the papers they judged,
and the recent corpus's vocabulary. The I/O edge of :mod:`alertbot.learn`.

The vocabulary is fitted once per corpus (once per tick: :func:`corpus_vocabulary`),
then each reader costs one query for their feedback, one for the judged papers missing
from the corpus, and one model fit (``alertbot bench learn`` measures it).

At queue time the dispatcher asks :class:`TickLearning` for the rankers of a bucket's
due readers: one grouped query per tick says who has enough feedback (the others cost
nothing more), the vocabulary is fitted once per corpus (:class:`VocabularyCache`), the
chosen readers' verdicts are read in batched queries and their models trained inside
:func:`one_blas_thread`.
"""

from __future__ import annotations

import threading
from collections import ChainMap
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from threadpoolctl import threadpool_limits

from alertbot.config import Settings
from alertbot.corpus import window_start
from alertbot.digest import Ranker
from alertbot.learn import (
    LearnParams,
    Reader,
    Suggestion,
    Vector,
    Vocabulary,
    fit_transform,
    reader_for,
    suggest,
)
from alertbot.learn import ranker as bind_ranker
from alertbot.model import FeedbackValue, Paper, Subscriber
from alertbot.store import Db
from alertbot.store.feedback import get_feedback, get_feedback_of, judged_enough
from alertbot.store.papers import get_papers, papers_version

LearningStatus = Literal["on", "off", "waiting"]


def learn_params(settings: Settings) -> LearnParams:
    """The ``[learn]`` settings as the pure core takes them."""
    s = settings.learn
    return LearnParams(
        min_useful=s.min_useful, min_not_useful=s.min_not_useful, weight=s.weight, l2=s.l2
    )


def one_blas_thread() -> AbstractContextManager[Any]:
    """Train readers inside this: numpy's BLAS on one thread.

    A reader's model is a few small dense solves (n x n, n judged papers). OpenBLAS
    spreads each over every core and spin-waits for its threads; on the 2 shared cores
    of the test machine that made one fit of 40 verdicts 32 ms instead of 3.7 ms, and
    of 300 verdicts 418 ms instead of 40 ms (the same weights either way). Entering the
    limit costs about 0.5 ms, so it wraps the whole batch of readers, not each fit.
    """
    limits: AbstractContextManager[Any] = threadpool_limits(limits=1, user_api="blas")
    return limits


def corpus_vocabulary(papers: Sequence[Paper]) -> tuple[Vocabulary, dict[str, Vector]]:
    """The vocabulary of the recent corpus and its papers' vectors (once per corpus)."""
    return fit_transform(papers)


@dataclass(frozen=True, slots=True, eq=False)
class ReaderState:
    """What learning knows of one reader: their verdicts, and their model when it is on."""

    feedback: Mapping[str, FeedbackValue]
    allowed: bool
    reader: Reader | None
    vectors: Mapping[str, Vector]  # the corpus's and the judged papers'
    judged: Mapping[str, Paper]  # the papers of ``feedback`` still stored

    @property
    def status(self) -> LearningStatus:
        """``on`` (the model orders digests), ``off`` (the reader said no), ``waiting``."""
        if not self.allowed:
            return "off"
        return "on" if self.reader is not None else "waiting"

    @property
    def counts(self) -> tuple[int, int]:
        useful = sum(1 for v in self.feedback.values() if v == "useful")
        return useful, len(self.feedback) - useful


def load_reader(
    db: Db,
    subscriber: Subscriber,
    vocabulary: Vocabulary,
    vectors: Mapping[str, Vector],
    params: LearnParams,
) -> ReaderState:
    """The reader's verdicts and model; judged papers older than the corpus are read too."""
    feedback = get_feedback(db, subscriber.id)
    judged = {pid: sp.paper for pid, sp in get_papers(db, feedback).items()}
    known = dict(vectors)
    known.update(vocabulary.vectors(p for pid, p in judged.items() if pid not in vectors))
    reader = reader_for(feedback, known, vocabulary, params, allowed=subscriber.learning)
    return ReaderState(feedback, subscriber.learning, reader, known, judged)


def ranker_for(state: ReaderState, params: LearnParams) -> Ranker | None:
    """The ``ranker`` for ``build_digest``: None (today's order) unless learning is on."""
    if state.reader is None:
        return None
    return bind_ranker(state.reader, state.vectors, weight=params.weight)


@dataclass
class VocabularyCache:
    """:func:`corpus_vocabulary`, kept while the corpus is the same: fitting it reads
    every recent paper's words (about a millisecond a paper), so a tick fits it only
    when a paper was stored or the window moved since the last fit."""

    _key: object = None
    _value: tuple[Vocabulary, dict[str, Vector]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(
        self, db: Db, papers: Sequence[Paper], *, now: datetime, days: int
    ) -> tuple[Vocabulary, dict[str, Vector]]:
        key = (papers_version(db), window_start(now, days).isoformat())
        with self._lock:
            if self._key == key and self._value is not None:
                return self._value
        value = corpus_vocabulary(papers)
        with self._lock:
            self._key, self._value = key, value
        return value


@dataclass
class Learned:
    """What learning decided for one due reader: the order, and the query suggestions."""

    ranker: Ranker
    suggestions: tuple[Suggestion, ...]


class TickLearning:
    """The learned rankings of one tick's due readers (see the module docstring).

    ``corpus`` is the tick's recent papers; their vocabulary is fitted (or taken from
    ``cache``) only when a due reader has learning on and enough feedback.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        now: datetime,
        corpus: Sequence[Paper],
        cache: VocabularyCache | None = None,
    ) -> None:
        self.params = learn_params(settings)
        self.days = settings.match.corpus_days
        self.now = now
        self.corpus = corpus
        self.cache = cache if cache is not None else VocabularyCache()
        self._ready: set[int] | None = None

    def for_readers(
        self, db: Db, subscribers: Iterable[Subscriber], papers: Mapping[str, Paper]
    ) -> dict[int, Learned]:
        """Subscriber id -> what learning decided, for those whose digests it orders.

        ``papers`` are the candidates the digests are built from (vectorised when the
        corpus does not hold them)."""
        params = self.params
        if params.weight <= 0:  # [learn] weight = 0: off for everyone
            return {}
        if self._ready is None:
            self._ready = judged_enough(
                db, min_useful=params.min_useful, min_not_useful=params.min_not_useful
            )
        chosen = {s.id: s for s in subscribers if s.learning and s.id in self._ready}
        if not chosen:
            return {}
        vocabulary, vectors = self.cache.get(db, self.corpus, now=self.now, days=self.days)
        verdicts = get_feedback_of(db, chosen)
        judged_ids = {pid for f in verdicts.values() for pid in f}
        judged = {pid: sp.paper for pid, sp in get_papers(db, judged_ids).items()}
        extra = vocabulary.vectors(
            p for p in [*judged.values(), *papers.values()] if p.id not in vectors
        )
        known: Mapping[str, Vector] = ChainMap(extra, vectors)
        found: dict[int, Learned] = {}
        titles: dict[str, set[int]] = {}
        with one_blas_thread():
            for sid, subscriber in chosen.items():
                feedback = verdicts.get(sid, {})
                reader = reader_for(feedback, known, vocabulary, params)
                if reader is None:
                    continue
                mine = {pid: judged[pid] for pid in feedback if pid in judged}
                suggestions = suggest(
                    feedback, mine, vocabulary, subscriber.profile, vectors=known, titles=titles
                )
                ranker = bind_ranker(reader, known, weight=params.weight)
                found[sid] = Learned(ranker, tuple(suggestions))
        return found

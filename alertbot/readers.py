"""Each reader's learned ranking, from the store: their verdicts, the papers they judged,
and the recent corpus's vocabulary. The I/O edge of :mod:`alertbot.learn`.

The vocabulary is fitted once per corpus (once per tick: :func:`corpus_vocabulary`),
then each reader costs one query for their feedback, one for the judged papers missing
from the corpus, and one model fit (``alertbot bench learn`` measures it).

Not wired into queueing yet: the dispatcher will call :func:`load_reader` and pass
:func:`ranker_for`'s result to ``build_digest(..., ranker=...)`` once the matches chosen
at queue time are stored on the outbox row (see the README, "How learning works").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

from threadpoolctl import threadpool_limits

from alertbot.config import Settings
from alertbot.digest import Ranker
from alertbot.learn import LearnParams, Reader, Vector, Vocabulary, fit_transform, reader_for
from alertbot.learn import ranker as bind_ranker
from alertbot.model import FeedbackValue, Paper, Subscriber
from alertbot.store import Db
from alertbot.store.feedback import get_feedback
from alertbot.store.papers import get_papers

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

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

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
    like_matches,
    reader_for,
    suggest,
)
from alertbot.learn import ranker as bind_ranker
from alertbot.match import QueryError
from alertbot.match.evaluate import doc_for, matches
from alertbot.match.like import is_like, parse_like
from alertbot.match.profile import compile_profile, rank
from alertbot.model import (
    FeedbackValue,
    Field,
    Hit,
    Match,
    Paper,
    Profile,
    Subscriber,
    normalise_title,
    title_id,
)
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
        self.likes = LikePass(settings, now=now, corpus=corpus, cache=self.cache)

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


LIKE_SCORE = 10.0  # a like: match scores as an interest scoring 10 x its similarity


class LikePass:
    """The ``like:`` interests of one tick's due profiles over the day's papers.

    Few readers have any, so rather than teach the keyword index tf-idf similarity
    (:mod:`alertbot.match.like`), each distinct like: interest is evaluated once per
    bucket here: its paper is found (by arXiv id, or by title among the stored and the
    day's papers), and every candidate whose cosine similarity to it is at least
    ``[learn] like_threshold`` matches, explained by the terms they share. A profile's
    exclusions veto like matches as they veto keyword ones.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        now: datetime,
        corpus: Sequence[Paper],
        cache: VocabularyCache,
    ) -> None:
        self.threshold = settings.learn.like_threshold
        self.days = settings.match.corpus_days
        self.now = now
        self.corpus = corpus
        self.cache = cache

    def for_profiles(
        self, db: Db, profiles: Mapping[int, Profile], papers: Mapping[str, Paper]
    ) -> dict[int, dict[str, Match]]:
        """Subscriber id -> paper id -> the like: match, for profiles with like: interests."""
        texts = {q for profile in profiles.values() for q in profile.interests if is_like(q)}
        if not texts:
            return {}
        vocabulary, vectors = self.cache.get(db, self.corpus, now=self.now, days=self.days)
        targets = self._targets(db, texts)
        return like_matches_of(profiles, targets, papers, vocabulary, vectors, self.threshold)

    def _targets(self, db: Db, texts: Iterable[str]) -> dict[str, Paper]:
        """Each like: interest's paper, when it is stored (else it matches nothing)."""
        refs: dict[str, tuple[str, str | None]] = {}
        for text in texts:
            try:
                ref = parse_like(text)
            except QueryError:
                continue  # the keyword side plans this profile's digests dead, saying why
            refs[text] = (ref.arxiv or title_id(ref.title or ""), ref.title)
        stored = get_papers(db, [pid for pid, _ in refs.values()])
        out = targets_among(refs, self.corpus)
        out.update((text, stored[pid].paper) for text, (pid, _) in refs.items() if pid in stored)
        return out


def targets_among(texts: Iterable[str], papers: Iterable[Paper]) -> dict[str, Paper]:
    """Each like: interest's paper among ``papers`` (by arXiv id, or by title)."""
    by_id: dict[str, Paper] = {}
    by_title: dict[str, Paper] = {}
    for paper in papers:
        by_id[paper.id] = paper
        by_title.setdefault(normalise_title(paper.title), paper)
    out: dict[str, Paper] = {}
    for text in texts:
        try:
            ref = parse_like(text)
        except QueryError:
            continue
        if ref.arxiv:
            found = by_id.get(ref.arxiv)
        else:
            found = by_title.get(normalise_title(ref.title or ""))
        if found is not None:
            out[text] = found
    return out


K = TypeVar("K")


def like_matches_of(
    profiles: Mapping[K, Profile],
    targets: Mapping[str, Paper],
    papers: Mapping[str, Paper],
    vocabulary: Vocabulary,
    vectors: Mapping[str, Vector],
    threshold: float,
) -> dict[K, dict[str, Match]]:
    """Profile -> paper id -> the match of its like: interests among ``papers`` (each
    interest's paper in ``targets``; one whose paper is unknown matches nothing)."""
    candidates = {pid: vectors.get(pid) or vocabulary.vector(p) for pid, p in papers.items()}
    found: dict[str, list[Match]] = {}
    for text, target in targets.items():
        vector = vectors.get(target.id) or vocabulary.vector(target)
        found[text] = [
            Match(m.paper_id, LIKE_SCORE * m.similarity, (text,),
                  tuple(_hit(text, term, papers[m.paper_id]) for term in m.shared))
            for m in like_matches(vector, candidates, vocabulary,
                                  threshold=threshold, exclude=target.id)
        ]  # fmt: skip
    out: dict[K, dict[str, Match]] = {}
    for key, profile in profiles.items():
        likes = [q for q in profile.interests if is_like(q)]
        if not likes:
            continue
        vetoes = _exclusions(profile)
        mine: dict[str, Match] = {}
        for text in likes:
            for m in found.get(text, ()):
                if m.score < profile.min_score or vetoes(papers[m.paper_id]):
                    continue
                old = mine.get(m.paper_id)
                mine[m.paper_id] = m if old is None else _joined(old, m)
        out[key] = mine
    return out


def with_likes(
    keyword: Sequence[Match], liked: Mapping[str, Match], papers: Mapping[str, Paper]
) -> list[Match]:
    """Keyword matches and like: matches in one ranking (a paper in both sums its scores),
    ranked as ``match_profile`` ranks: score, then published date, then id."""
    merged = {m.paper_id: m for m in keyword}
    for pid, m in liked.items():
        merged[pid] = _joined(merged[pid], m) if pid in merged else m
    return rank(list(merged.values()), dict(papers))


def _joined(a: Match, b: Match) -> Match:
    return Match(a.paper_id, a.score + b.score, a.interests + b.interests, a.hits + b.hits)


def _hit(text: str, term: str, paper: Paper) -> Hit:
    field: Field = "title" if term.casefold() in paper.title.casefold() else "abstract"
    return Hit(text, field, term)


def _exclusions(profile: Profile) -> Callable[[Paper], bool]:
    try:
        compiled = compile_profile(Profile(exclusions=profile.exclusions))
    except QueryError:
        return lambda paper: True  # the keyword side plans its digests dead, saying why
    return lambda paper: any(matches(q.root, doc_for(paper)) for q in compiled.exclusions)

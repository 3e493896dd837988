"""The learned order of a reader's keyword matches, and why each paper moved.

Keyword matching decides which papers are in a digest; this decides their order, and
so which make the profile's cap. Each match's score becomes

    (1 - weight) * keyword_score / best_keyword_score + weight * P(useful | paper)

(the keyword score scaled to [0, 1] within the day's matches, the model's probability
already there); ties keep the keyword order. Without a model (learning off, or not
enough feedback yet) the matches come back exactly as given.

A paper that moved gets a :class:`~alertbot.model.RankReason`: the model's strongest
features present in the paper, pushing the way it moved, and how many papers the
reader judged that way contain the first of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from alertbot.learn.model import ReaderModel, train
from alertbot.learn.tfidf import EMPTY, Vector, Vocabulary
from alertbot.model import FeedbackValue, Match, RankReason

MIN_USEFUL = 5
MIN_NOT_USEFUL = 5
# Picked by `alertbot bench learn` (a scan of weight 0.3-1.0 x l2 0.1-1.0 on its workload;
# the README gives the table): a light regularisation and the model's larger share.
WEIGHT = 0.7
READER_L2 = 0.3
MAX_REASON_TERMS = 2
# A second term is named only if it pushes at least half as hard as the first.
SECOND_TERM_SHARE = 0.5

Ranked = list[tuple[Match, RankReason | None]]


@dataclass(frozen=True, slots=True)
class LearnParams:
    """How much feedback turns learning on, and how much the model weighs (``[learn]``)."""

    min_useful: int = MIN_USEFUL
    min_not_useful: int = MIN_NOT_USEFUL
    weight: float = WEIGHT
    l2: float = READER_L2


def enough_feedback(feedback: Mapping[str, FeedbackValue], params: LearnParams) -> bool:
    useful = sum(1 for v in feedback.values() if v == "useful")
    return useful >= params.min_useful and len(feedback) - useful >= params.min_not_useful


@dataclass(frozen=True, slots=True, eq=False)
class Reader:
    """One reader's model with what explaining it needs: the vocabulary and their verdicts."""

    model: ReaderModel
    vocabulary: Vocabulary
    judged: tuple[tuple[Vector, bool], ...]


def reader_for(
    feedback: Mapping[str, FeedbackValue],
    vectors: Mapping[str, Vector],
    vocabulary: Vocabulary,
    params: LearnParams,
    *,
    allowed: bool = True,
) -> Reader | None:
    """The reader's trained model, or None: learning off, too little feedback, or the
    judged papers are unknown (``vectors`` must hold them; the others are skipped)."""
    if not allowed or not enough_feedback(feedback, params):
        return None
    judged = tuple(
        (vectors[pid], value == "useful")
        for pid, value in sorted(feedback.items())
        if pid in vectors
    )
    model = train(judged, l2=params.l2)
    return Reader(model, vocabulary, judged) if model is not None else None


def rerank(
    matches: Sequence[Match],
    vectors: Mapping[str, Vector],
    reader: Reader | None,
    *,
    weight: float = WEIGHT,
) -> Ranked:
    """The matches in learned order, each with its reason (None if it did not move)."""
    if reader is None or not matches:
        return [(m, None) for m in matches]
    best = max(m.score for m in matches)
    scale = best if best > 0 else 1.0
    combined = [
        (1.0 - weight) * (m.score / scale)
        + weight * reader.model.probability(vectors.get(m.paper_id, EMPTY))
        for m in matches
    ]
    order = sorted(range(len(matches)), key=lambda i: (-combined[i], i))
    ranked: Ranked = []
    for position, i in enumerate(order):
        if position == i:
            ranked.append((matches[i], None))
            continue
        vector = vectors.get(matches[i].paper_id, EMPTY)
        # The reason says which way the model pushed this paper (others may have moved
        # past it): readers see only the final list, never the keyword order.
        up = reader.model.decision(vector) > 0
        ranked.append((matches[i], explain(reader, vector, up=up)))
    return ranked


def ranker(
    reader: Reader, vectors: Mapping[str, Vector], *, weight: float = WEIGHT
) -> Callable[[list[Match]], Ranked]:
    """:func:`rerank` with the reader bound: the ``ranker`` of ``alertbot.digest.build_digest``."""
    return lambda matches: rerank(matches, vectors, reader, weight=weight)


def explain(reader: Reader, vector: Vector, *, up: bool) -> RankReason:
    """Why the model pushed this paper ``up`` (or down): its strongest features in it.

    A word is named by the phrase around it when that phrase pushes at least half as
    hard ("speculative decoding" rather than "decoding"): a phrase is what a reader
    recognises, and what a query would say.
    """
    sign = 1.0 if up else -1.0
    keys = reader.vocabulary.keys
    push = {
        col: sign * value for col, value in reader.model.contributions(vector) if sign * value > 0
    }
    pushing = sorted(push.items(), key=lambda cv: (-cv[1], cv[0]))
    chosen: list[int] = []
    for col, strength in pushing:
        if len(chosen) == MAX_REASON_TERMS or strength < SECOND_TERM_SHARE * pushing[0][1]:
            break
        phrases = [
            c
            for c, p in push.items()
            if c != col
            and p >= SECOND_TERM_SHARE * strength
            and _overlaps(keys[col], keys[c])
            and len(keys[c]) > len(keys[col])
        ]
        if phrases:
            col = max(phrases, key=lambda c: (push[c], -c))
        if any(_overlaps(keys[col], keys[c]) for c in chosen):
            continue  # "decoding" adds nothing beside "speculative decoding"
        chosen.append(col)
    like = (
        sum(1 for v, useful in reader.judged if useful == up and v.has(chosen[0])) if chosen else 0
    )
    return RankReason(
        direction="up" if up else "down",
        terms=tuple(reader.vocabulary.display[c] for c in chosen),
        like=like,
    )


def _overlaps(a: str, b: str) -> bool:
    """One feature key's words are a run of the other's."""
    small, large = sorted((a.split(), b.split()), key=len)
    return any(large[i : i + len(small)] == small for i in range(len(large) - len(small) + 1))

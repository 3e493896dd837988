"""Digests that learn from the reader, and still explain themselves. Pure.

tf-idf of title + abstract over the recent corpus (:mod:`~alertbot.learn.tfidf`), a
per-reader logistic regression on their useful / not useful verdicts
(:mod:`~alertbot.learn.model`), the learned order of their keyword matches with a
reason per moved paper (:mod:`~alertbot.learn.rank`), query suggestions
(:mod:`~alertbot.learn.suggest`) and ``like:`` similarity (:mod:`~alertbot.learn.like`).
No I/O: feedback, papers and the corpus are passed in.
"""

from __future__ import annotations

from alertbot.learn.like import LikeMatch, like_matches, shared_terms, similarity
from alertbot.learn.model import ReaderModel, train
from alertbot.learn.rank import (
    LearnParams,
    Reader,
    enough_feedback,
    ranker,
    reader_for,
    rerank,
)
from alertbot.learn.suggest import accept, suggest
from alertbot.learn.tfidf import Vector, Vocabulary, fit_transform
from alertbot.model import Suggestion

__all__ = [
    "LearnParams",
    "LikeMatch",
    "Reader",
    "ReaderModel",
    "Suggestion",
    "Vector",
    "Vocabulary",
    "accept",
    "enough_feedback",
    "fit_transform",
    "like_matches",
    "ranker",
    "reader_for",
    "rerank",
    "shared_terms",
    "similarity",
    "suggest",
    "train",
]

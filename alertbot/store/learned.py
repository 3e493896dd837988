"""What the learned ranking decided for an outbox row, as the row stores it
(``outbox.learning``).

NULL means the digest is in keyword order. Otherwise the reader's model ordered it, and
the column holds, as JSON text::

    {"reasons": [null | [direction, [term, ...], like], ...],   # one per shown paper
     "suggestions": [[kind, query, term, useful, not_useful], ...]}

so the worker renders the reasons under the papers, the header's "ordered with your
feedback" and the footer's suggestions without training anything at send time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alertbot.model import RankReason, Suggestion


class StoredLearningError(ValueError):
    """An outbox row's ``learning`` column is not what :func:`encode` writes."""


@dataclass(frozen=True, slots=True)
class RowLearning:
    """The learned ranking's part of one digest: a reason per shown paper, suggestions."""

    reasons: tuple[RankReason | None, ...]
    suggestions: tuple[Suggestion, ...] = ()


def encode(learning: RowLearning | None) -> str | None:
    if learning is None:
        return None
    reasons = [
        None if r is None else [r.direction, list(r.terms), r.like] for r in learning.reasons
    ]
    suggestions = [[s.kind, s.query, s.term, s.useful, s.not_useful] for s in learning.suggestions]
    return json.dumps({"reasons": reasons, "suggestions": suggestions}, ensure_ascii=False)


def decode(text: str | None) -> RowLearning | None:
    if text is None:
        return None
    try:
        data = json.loads(text)
        return RowLearning(
            tuple(_reason(r) for r in data["reasons"]),
            tuple(_suggestion(s) for s in data["suggestions"]),
        )
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise StoredLearningError(f"stored learning does not read: {exc}") from exc


def _reason(item: Any) -> RankReason | None:
    if item is None:
        return None
    direction, terms, like = item
    if direction not in ("up", "down"):
        raise ValueError(f"not a direction: {direction!r}")
    return RankReason(direction, tuple(str(t) for t in terms), int(like))


def _suggestion(item: Any) -> Suggestion:
    kind, query, term, useful, not_useful = item
    if kind not in ("interest", "exclusion"):
        raise ValueError(f"not a suggestion kind: {kind!r}")
    return Suggestion(kind, str(query), str(term), int(useful), int(not_useful))


def reasons_for(learning: RowLearning | None, n: int) -> Sequence[RankReason | None]:
    """The reasons of a row's ``n`` papers (none for a row in keyword order)."""
    if learning is None:
        return (None,) * n
    if len(learning.reasons) != n:
        raise StoredLearningError(f"{len(learning.reasons)} stored reasons for {n} papers")
    return learning.reasons

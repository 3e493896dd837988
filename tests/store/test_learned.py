"""The learned ranking's part of an outbox row: written and read back exactly, NULL for
a digest in keyword order, and a damaged column refused with a clear error."""

from __future__ import annotations

import pytest

from alertbot.model import RankReason, Suggestion
from alertbot.store.learned import RowLearning, StoredLearningError, decode, encode, reasons_for


def test_it_reads_back_exactly_what_it_wrote() -> None:
    """Reasons (or none) per paper and the suggestions survive the column unchanged."""
    learning = RowLearning(
        (RankReason("up", ("speculative decoding", "draft"), 3), None, RankReason("down")),
        (Suggestion("interest", '"speculative decoding"', "speculative decoding", 4, 0),
         Suggestion("exclusion", "survey", "survey", 0, 5)),
    )  # fmt: skip
    assert decode(encode(learning)) == learning


def test_keyword_order_is_null() -> None:
    """No learning part: NULL, read as None, every paper without a reason."""
    assert encode(None) is None
    assert decode(None) is None
    assert reasons_for(None, 3) == (None, None, None)


@pytest.mark.parametrize(
    "text",
    ['{"reasons": [["sideways", [], 0]], "suggestions": []}', '{"reasons": []}', "[1,"],
)
def test_a_damaged_column_is_refused(text: str) -> None:
    """What encode never writes raises StoredLearningError (the worker ends the row dead)."""
    with pytest.raises(StoredLearningError, match="stored learning does not read"):
        decode(text)


def test_a_reason_count_that_is_not_the_papers_is_refused() -> None:
    """Two reasons for three papers cannot be rendered: refused, not guessed."""
    with pytest.raises(StoredLearningError, match="2 stored reasons for 3 papers"):
        reasons_for(RowLearning((None, None)), 3)

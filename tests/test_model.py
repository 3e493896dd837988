"""Paper identity: stable ids that survive cosmetic differences between listings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertbot.model import arxiv_id, normalise_title, paper_id, title_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2602.23229", "2602.23229"),
        ("2602.23229v3", "2602.23229"),
        ("arXiv:2401.01234v1", "2401.01234"),
        ("1501.0001", "1501.0001"),
        ("hep-th/9901001v2", "hep-th/9901001"),
        ("math.GT/0309136", "math.GT/0309136"),
        ("not an id", None),
        ("", None),
        (None, None),
        ("2602.23229 trailing", None),
    ],
)
def test_it_extracts_the_version_less_arxiv_id(raw: str | None, expected: str | None) -> None:
    """arXiv ids lose their version suffix; anything else is not an arXiv id."""
    assert arxiv_id(raw) == expected


def test_it_folds_case_unicode_whitespace_and_punctuation_in_titles() -> None:
    """Titles that differ only cosmetically normalise to the same key."""
    variants = [
        "Self-Attention: A Survey",
        "self attention a survey",
        "  SELF–ATTENTION —  a   survey. ",
        "Ｓｅｌｆ-Attention: A Survey",  # full-width letters (NFKC)
    ]
    assert len({normalise_title(v) for v in variants}) == 1


def test_it_keeps_different_titles_apart() -> None:
    """Different words give different ids."""
    assert title_id("Graph transformers") != title_id("Graph transformer networks")


def test_it_prefers_the_arxiv_id_over_the_title_hash() -> None:
    """A known arXiv id is the paper's id; otherwise the title hash is."""
    assert paper_id("Some title", "2602.23229v2") == "2602.23229"
    assert paper_id("Some title", None) == title_id("Some title")
    assert paper_id("Some title", "garbage").startswith("t-")


@given(st.text(max_size=200))
def test_it_gives_every_title_a_stable_well_formed_id(title: str) -> None:
    """Any text hashes to the same short id every time."""
    first = title_id(title)
    assert first == title_id(title)
    assert first.startswith("t-")
    assert len(first) == 18

"""The presentation helpers: highlighting, one-line text, trimming, URLs, bylines."""

from __future__ import annotations

import html
import re
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from alertbot.render.parts import (
    authors_text,
    highlight_html,
    merge_spans,
    one_line,
    paper_links,
    safe_url,
    trim,
)
from tests.helpers.builders import paper

spans = st.lists(st.tuples(st.integers(-5, 80), st.integers(-5, 80)), max_size=8)


@given(st.text(max_size=60), spans)
def test_it_highlights_without_changing_the_text(text: str, raw: list[tuple[int, int]]) -> None:
    """Removing the <mark> tags and unescaping gives back the exact original text."""
    out = str(highlight_html(text, raw))
    assert html.unescape(out.replace("<mark>", "").replace("</mark>", "")) == text


@given(st.text(alphabet="ab<&>\"' \n", max_size=60), spans)
def test_it_marks_exactly_the_merged_spans(text: str, raw: list[tuple[int, int]]) -> None:
    """The marked pieces are the merged, clipped spans, and no tag but <mark> appears."""
    out = str(highlight_html(text, raw))
    marked = [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", out, flags=re.S)]
    assert marked == [text[a:b] for a, b in merge_spans(raw, len(text))]
    assert re.sub(r"</?mark>", "", out).count("<") == 0


def test_it_merges_overlapping_and_touching_spans() -> None:
    """Overlaps and adjacent spans merge; empty and out-of-range parts are dropped."""
    assert merge_spans([(5, 8), (0, 2), (1, 3), (3, 4), (7, 20), (9, 9), (-3, 0)], 10) == [
        (0, 4),
        (5, 10),
    ]


def test_it_puts_hostile_text_on_one_line() -> None:
    """CR, LF, tabs, NEL, line separators and bidi overrides become single spaces."""
    assert one_line("a\r\nb\tc\x85d\u2028e\u202ef  g ") == "a b c d e f g"


def test_it_trims_at_a_word_boundary_with_an_ellipsis() -> None:
    """Long text is cut before the limit at a space, and marked with an ellipsis."""
    assert trim("alpha beta gamma delta", 13) == "alpha beta…"
    assert trim("short", 10) == "short"
    assert len(trim("x" * 50, 10)) == 10


def test_it_accepts_only_absolute_http_urls() -> None:
    """javascript:, data:, relative and whitespace-laden URLs are refused."""
    assert safe_url("https://arxiv.org/abs/1") == "https://arxiv.org/abs/1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "/relative", "http://a b", "http:///x"):
        assert safe_url(bad) is None


def test_it_searches_hugging_face_for_listing_papers_without_a_link() -> None:
    """A title-only paper from a Hugging Face listing gets a search link, URL-encoded."""
    links = paper_links(paper(1, title="A & B <c>", arxiv=False, source_format="lines"))
    assert links == [("Hugging Face", "https://huggingface.co/papers?q=A%20%26%20B%20%3Cc%3E")]


def test_it_counts_authors_when_only_the_number_is_known() -> None:
    """Listing dumps give "8 authors", not names."""
    assert authors_text(replace(paper(1, authors=()), n_authors=8)) == "8 authors"
    assert authors_text(paper(1, authors=("Solo",))) == "Solo"

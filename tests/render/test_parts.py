"""The presentation helpers: highlighting, one-line text, trimming, URLs, bylines."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertbot.render import Renderer
from alertbot.render.parts import (
    authors_text,
    display_text,
    highlight_html,
    merge_spans,
    one_line,
    paper_links,
    safe_url,
    trim,
)
from tests.helpers.builders import digest, item, paper

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


# Real sequences, written with escapes so what is tested is visible in the source.
WOMAN_SCIENTIST = "\U0001f469\u200d\U0001f52c"  # 👩‍🔬
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦
HEART_ON_FIRE = "\u2764\ufe0f\u200d\U0001f525"  # ❤️‍🔥: the ZWJ after a variation selector
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"  # 🏳️‍🌈
DARK_SKINNED_COOK = "\U0001f9d1\U0001f3ff\u200d\U0001f373"  # 🧑🏿‍🍳: after a skin tone
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # می‌خواهم: ZWNJ between letters
MALAYALAM = "\u0d05\u0d35\u0d28\u0d4d\u200d \u0d2a\u0d4b\u0d2f\u0d3f"  # അവന്‍ പോയി: chillu by ZWJ
HINDI = "\u0915\u094d\u200d\u0937"  # क्‍ष: half form by ZWJ after the virama
JOINED = [WOMAN_SCIENTIST, FAMILY, HEART_ON_FIRE, RAINBOW_FLAG, DARK_SKINNED_COOK]
SCRIPTS = [PERSIAN, MALAYALAM, HINDI]


@pytest.mark.parametrize("text", JOINED + SCRIPTS)
def test_it_keeps_joiners_that_join(text: str) -> None:
    """ZWJ inside emoji sequences and ZWNJ/ZWJ inside words stay, so nothing is split."""
    title = f"Lab notes {text} 2026"
    assert one_line(title) == title
    assert display_text(title, None) == title


@pytest.mark.parametrize("text", JOINED)
def test_it_renders_a_joined_emoji_whole_in_email_and_slack(text: str) -> None:
    """A title with 👩‍🔬 reaches the email's HTML and text and the Slack blocks unsplit."""
    renderer = Renderer(public_url="https://alertbot.example.org")
    one = digest([item(paper(1, title=f"A {text} benchmark"))])
    rendered = renderer.email(one, unsubscribe_url="https://alertbot.example.org/u")
    blocks = json.dumps(renderer.slack(one).blocks, ensure_ascii=False)
    for out in (rendered.html, rendered.text, blocks):
        assert f"A {text} benchmark" in out


def test_it_drops_joiners_that_join_nothing() -> None:
    """A joiner after a space, at the start or after another joiner is invisible padding."""
    assert one_line("\u200dstart a \u200db c\u200d\u200d\u200dd") == "start a b c\u200d d"
    assert one_line("\u200c\u200c") == ""


def test_it_still_strips_every_bidi_control() -> None:
    """Overrides, embeddings, isolates and marks go, also beside a kept joiner."""
    controls = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    assert one_line(f"{WOMAN_SCIENTIST}{controls}x") == f"{WOMAN_SCIENTIST} x"
    assert display_text(f"a{controls}b", None) == "a" + " " * len(controls) + "b"


def test_it_refuses_urls_with_a_joiner() -> None:
    """Joiners are fine in text, never inside a link (a look-alike host)."""
    assert safe_url("https://arxiv\u200d.org/abs/1") is None

"""Long HTML lines are broken at spaces in text, so a digest's HTML part goes 8bit and
reads the same: checked against an independent reading (the stdlib's HTML parser)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from alertbot.deliver.mime import MAX_LINE, Envelope, message_bytes
from alertbot.model import Hit, Paper
from alertbot.parse import parse_bytes
from alertbot.render import Renderer
from alertbot.render import email as render_email
from alertbot.render.fold import fold_html
from alertbot.samples import sample_dump_paths
from alertbot.tex import display
from tests.helpers.builders import digest, item

PUBLIC = "https://alerts.example.org/"
UNSUBSCRIBE = "https://alerts.example.org/unsubscribe?token=abc.def"


class _Reading(HTMLParser):
    """What a browser makes of a page: its tags with their attributes, and its text with
    runs of white space as one space (outside raw elements, where it is kept as is)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[str, object]] = []
        self._raw = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", (tag, tuple(attrs))))
        self._raw += tag in {"style", "pre"}

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))
        self._raw -= tag in {"style", "pre"}

    def handle_data(self, data: str) -> None:
        text = data if self._raw else re.sub(r"\s+", " ", data)
        if self.events and self.events[-1][0] == "text":
            text = str(self.events.pop()[1]) + text
            text = text if self._raw else re.sub(r"\s+", " ", text)
        self.events.append(("text", text))


def _read(page: str) -> list[tuple[str, object]]:
    reading = _Reading()
    reading.feed(page)
    reading.close()
    return reading.events


def _longest(page: str) -> int:
    return max(len(line.encode()) for line in page.split("\n"))


TERMS = re.compile(r"\b(?:LLMs?|(?:large )?language models?|models?)\b", re.IGNORECASE)


def _long_abstract_paper() -> Paper:
    """The real paper of the bundled listing dumps whose abstract has the most highlights
    of a reader following language models."""
    fetched = datetime(2026, 11, 23, tzinfo=UTC)
    papers = [
        p
        for dump in sample_dump_paths()
        for p in parse_bytes(dump.read_bytes(), name=dump.name, fetched_at=fetched).papers
    ]
    return max(papers, key=lambda p: len(TERMS.findall(display(p.abstract))))


def test_a_line_too_long_is_broken_only_at_spaces_in_text() -> None:
    """Every line ends up within the width; tags, attributes and text read the same."""
    words = " ".join(
        f'<mark style="background: #fff3b0; color: inherit">w{i}</mark> text' for i in range(60)
    )
    page = f'<div class="x"><p title="a b c">{words}</p></div>\n<p>short</p>\n'
    folded = fold_html(page, width=200)
    assert _longest(page) > 200
    assert _longest(folded) <= 200
    assert folded.replace("\n", " ") == page.replace("\n", " ")  # only spaces became newlines
    assert _read(folded) == _read(page)
    assert 'style="background: #fff3b0; color: inherit"' in folded  # attributes kept whole


def test_a_quoted_greater_than_sign_does_not_end_the_tag() -> None:
    """The CSS inliner writes ``>`` unescaped in attribute values (``title="a > b"``): the
    tag still ends at its closing ``>``, so the value's spaces stay spaces."""
    title = "x > " + " ".join(["word"] * 60)
    page = f'<p><a title="{title}" href="/p">link</a> ' + " ".join(["text"] * 80) + "</p>"
    folded = fold_html(page, width=120)
    assert f'title="{title}"' in folded
    assert _read(folded) == _read(page)
    assert "\n" in folded  # the text after the tag was still folded


def test_pages_with_short_lines_come_back_as_they_were() -> None:
    page = "<p>one</p>\n<p>two words</p>\n"
    assert fold_html(page, width=40) is page


def test_width_counts_octets_not_characters() -> None:
    """Greek letters are two octets each in UTF-8: a line of 300 characters is 600 octets."""
    page = "<p>" + " ".join(["αβγδε"] * 50) + "</p>"
    folded = fold_html(page, width=200)
    assert _longest(folded) <= 200
    assert _read(folded) == _read(page)


def test_style_and_preformatted_text_keep_their_spaces() -> None:
    """A newline would end a CSS string or show in <pre>: their text is never folded."""
    css = "td { font-family: " + ", ".join(f'"Font {i}"' for i in range(40)) + " }"
    pre = " ".join(["keep"] * 80)
    page = f"<style>{css}</style><p>{' '.join(['fold'] * 80)}</p><pre>{pre}</pre>"
    folded = fold_html(page, width=120)
    assert css in folded
    assert f"<pre>{pre}</pre>" in folded
    assert _read(folded) == _read(page)
    assert "fold\nfold" in folded


def test_a_line_without_a_space_to_break_at_stays_whole() -> None:
    page = "<p>" + "x" * 500 + "</p>"
    assert fold_html(page, width=100) == page


def test_a_real_abstract_full_of_highlights_goes_8bit_and_reads_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real abstract from the bundled dumps, highlighted for a reader of language
    models: once the CSS is inlined its line passes 998 octets, and the whole HTML part
    went base64. Folded, it reads as the unfolded page does."""
    paper = _long_abstract_paper()
    spans = tuple(m.span() for m in TERMS.finditer(display(paper.abstract)))
    one = digest([item(paper, [Hit("LLM", "abstract", "llm", spans)])])
    rendered = Renderer(public_url=PUBLIC).email(one, unsubscribe_url=UNSUBSCRIBE)
    monkeypatch.setattr(render_email, "fold_html", lambda page: page)
    unfolded = Renderer(public_url=PUBLIC).email(one, unsubscribe_url=UNSUBSCRIBE)
    assert _longest(unfolded.html) > MAX_LINE  # the case
    assert _longest(rendered.html) <= MAX_LINE
    assert _read(rendered.html) == _read(unfolded.html)
    assert rendered.text == unfolded.text
    envelope = Envelope(
        subject=rendered.subject,
        from_address="alertbot <alerts@example.org>",
        to_name="Ada",
        to_address="a@b.org",
        sent_at=datetime(2026, 11, 23, 7, tzinfo=UTC),
        unsubscribe_url=UNSUBSCRIBE,
        unsubscribe_mailto=None,
        outbox_id=1,
    )
    _, data = message_bytes(envelope, rendered.text, rendered.html, eight_bit=True)
    assert data.count(b"Content-Transfer-Encoding: 8bit") == 2
    assert b"base64" not in data


def test_every_bundled_paper_highlighted_reads_the_same_within_998_octets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """All the bundled dumps' papers, eight to a digest, with every word of four letters
    or more highlighted (the most inlined styles a line can get): every line fits, and
    each digest reads as its unfolded rendering does."""
    fetched = datetime(2026, 11, 23, tzinfo=UTC)
    papers = [
        p
        for dump in sample_dump_paths()
        for p in parse_bytes(dump.read_bytes(), name=dump.name, fetched_at=fetched).papers
    ]
    assert len(papers) > 300
    words = re.compile(r"\b\w{4,}\b")
    digests = []
    for start in range(0, len(papers), 8):
        items = []
        for paper in papers[start : start + 8]:
            spans = tuple(m.span() for m in words.finditer(display(paper.abstract)))
            items.append(item(paper, [Hit("w", "abstract", "w", spans)] if spans else []))
        digests.append(digest(items))
    folded = [
        Renderer(public_url=PUBLIC).email(d, unsubscribe_url=UNSUBSCRIBE).html for d in digests
    ]
    monkeypatch.setattr(render_email, "fold_html", lambda page: page)
    plain = [
        Renderer(public_url=PUBLIC).email(d, unsubscribe_url=UNSUBSCRIBE).html for d in digests
    ]
    assert max(_longest(page) for page in plain) > MAX_LINE  # the case arises
    for page, unfolded in zip(folded, plain, strict=True):
        assert _longest(page) <= MAX_LINE
        assert _read(page) == _read(unfolded)

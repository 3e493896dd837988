"""The email set: subject, text and HTML; escaping, highlighting, links and the size cap."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import pytest

from alertbot.model import Hit
from alertbot.render import RenderedEmail, Renderer
from alertbot.render.email import MAX_HTML_BYTES
from tests.helpers import REPO
from tests.helpers.builders import DAY, digest, item, paper

UNSUBSCRIBE = "https://alerts.example.org/unsubscribe?token=abc.def"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(public_url="https://alerts.example.org/")


def _email(renderer: Renderer, items: list, more: int = 0) -> RenderedEmail:  # type: ignore[type-arg]
    return renderer.email(digest(items, more), unsubscribe_url=UNSUBSCRIBE)


def _unstyled(page: str) -> str:
    """The HTML without the style attributes the CSS inliner added."""
    return re.sub(r' style="[^"]*"', "", page)


def _papers_shown(page: str) -> int:
    return page.count('class="paper"')


def _more_line(page: str) -> int:
    m = re.search(r"and (\d+) more matching paper", page)
    return int(m.group(1)) if m else 0


def test_it_escapes_markup_in_titles_and_abstracts(renderer: Renderer) -> None:
    """A <script> in a title or abstract is shown as text, never as a tag."""
    p = paper(1, title="<script>alert(1)</script> graphs", abstract='<img src=x onerror="x()">')
    page = _email(renderer, [item(p)]).html
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; graphs" in page


def test_it_keeps_line_breaks_out_of_the_subject(renderer: Renderer) -> None:
    """CR/LF (and Unicode line separators) in the top title never reach the subject."""
    p = paper(1, title="Graphs\r\nBcc: victim@example.org\u2028X-Evil: 1")
    subject = _email(renderer, [item(p)]).subject
    assert not set(subject) & {"\r", "\n", "\u2028", "\x85"}
    assert "Graphs Bcc: victim@example.org X-Evil: 1" in subject


def test_it_states_the_count_and_the_day_in_the_subject(renderer: Renderer) -> None:
    """The subject counts listed plus "more" papers and names the (Monday) digest date."""
    assert DAY.weekday() == 0
    email = _email(renderer, [item(paper(1)), item(paper(2))], more=3)
    assert email.subject.startswith("alertbot: 5 new papers for you - Mon 23 Nov - ")
    assert email.subject.endswith("Graph paper number 1")


def test_it_says_nothing_new_on_an_empty_digest(renderer: Renderer) -> None:
    """An empty digest (send_empty) still renders, with a short note and the footer."""
    email = _email(renderer, [])
    assert email.subject == "alertbot: nothing new for you - Mon 23 Nov"
    assert "Nothing new matched" in email.text
    assert "Nothing new matched" in email.html
    assert UNSUBSCRIBE in email.text


def test_it_is_dark_mode_friendly_with_inlined_css(renderer: Renderer) -> None:
    """color-scheme meta is set; rules are inlined; only the dark @media block stays."""
    page = _email(renderer, [item(paper(1))]).html
    assert '<meta name="color-scheme" content="light dark">' in page
    assert '<body style="' in page
    styles = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    assert len(styles) == 1
    assert styles[0].strip().startswith("@media (prefers-color-scheme: dark)")


def test_it_shows_a_visible_unsubscribe_link_and_how_to_change_interests(
    renderer: Renderer,
) -> None:
    """The footer links the unsubscribe URL (escaped in HTML) and explains /subscribe."""
    email = _email(renderer, [item(paper(1))])
    assert f'href="{html.escape(UNSUBSCRIBE)}"' in email.html
    assert ">Unsubscribe</a>" in email.html
    assert "/subscribe" in email.html
    assert f"Unsubscribe: {UNSUBSCRIBE}" in email.text


def test_it_links_arxiv_pages_and_the_pdf(renderer: Renderer) -> None:
    """An arXiv paper links its abstract page (title) and its PDF."""
    page = _email(renderer, [item(paper(3))]).html
    assert '<a href="https://arxiv.org/abs/2611.00003"' in page
    assert '<a href="https://arxiv.org/pdf/2611.00003"' in page


def test_it_links_the_hugging_face_page_of_papers_from_hugging_face(renderer: Renderer) -> None:
    """A paper from the Hugging Face API also links huggingface.co/papers/<arXiv id>."""
    page = _email(renderer, [item(paper(4, source_format="hf-json"))]).html
    assert 'href="https://huggingface.co/papers/2611.00004"' in page


def test_it_drops_links_that_are_not_http(renderer: Renderer) -> None:
    """A javascript: URL from a listing is never linked."""
    p = paper(5, arxiv=False, url="javascript:alert(1)", source_format="feed")
    page = _email(renderer, [item(p)]).html
    assert "javascript:" not in page


def test_it_shortens_long_author_lists(renderer: Renderer) -> None:
    """Four or more authors read "A, B, C et al."."""
    p = paper(6, authors=["Ann", "Ben", "Cat", "Dan", "Eve"])
    email = _email(renderer, [item(p)])
    assert "Ann, Ben, Cat et al." in email.text
    assert "Dan" not in email.text


def test_it_highlights_matched_spans_escaping_each_piece(renderer: Renderer) -> None:
    """Hit spans become <mark> around the right characters, markup inside escaped."""
    title = "Graph <b>neural</b> nets & more"
    hits = [
        Hit("graph", "title", "graph", ((0, 5),)),
        Hit("neural", "title", "neural", ((9, 15),)),
        Hit("b", "title", "b", ((6, 9),)),  # covers "<b>": must stay escaped
    ]
    page = _unstyled(_email(renderer, [item(paper(7, title=title), hits)]).html)
    assert "<mark>Graph</mark> <mark>&lt;b&gt;neural</mark>&lt;/b&gt; nets &amp; more" in page


def test_it_explains_why_each_paper_was_chosen(renderer: Renderer) -> None:
    """One "why" line names the interests and the terms found."""
    hits = [Hit("graph", "abstract", "graph", ((8, 13),))]
    email = _email(renderer, [item(paper(8), hits)])
    assert "Why: your interest graph (found: graph)" in email.text


def test_it_keeps_non_latin_scripts_intact(renderer: Renderer) -> None:
    """Chinese, Arabic and Greek titles survive, highlighted at the right characters."""
    title = "图神经网络 التعلم العميق μετασχηματιστής"
    hits = [Hit("图神经", "title", "图神经", ((0, 3),))]
    email = _email(renderer, [item(paper(9, title=title), hits)])
    assert "<mark>图神经</mark>网络 التعلم العميق μετασχηματιστής" in _unstyled(email.html)
    assert title in email.text
    assert '<meta charset="utf-8">' in email.html


def test_it_keeps_the_html_under_the_size_cap_with_huge_abstracts(renderer: Renderer) -> None:
    """200 papers with 10,000-character abstracts stay under 100 KB; none is lost from
    the count: listed + "and N more" = all."""
    abstract = ("graph & <neural> " * 600)[:10_000]
    hits = [Hit("graph", "abstract", "graph", tuple((i, i + 5) for i in range(0, 9000, 17)))]
    items = [item(paper(n, abstract=abstract), hits) for n in range(200)]
    email = _email(renderer, items, more=5)
    assert len(email.html.encode("utf-8")) <= MAX_HTML_BYTES
    shown = _papers_shown(email.html)
    assert shown > 0
    assert shown + _more_line(email.html) == 205
    assert f"and {205 - shown} more" in email.text


def test_it_trims_abstracts_before_dropping_papers(renderer: Renderer) -> None:
    """Twenty papers with long abstracts are all listed; their abstracts are shortened."""
    abstract = "graph " * 1700
    email = _email(renderer, [item(paper(n, abstract=abstract)) for n in range(20)])
    assert _papers_shown(email.html) == 20
    assert _more_line(email.html) == 0
    assert "…" in email.text


def test_it_uses_templates_from_a_given_folder(tmp_path: Path) -> None:
    """templates_dir overrides the bundled templates."""
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "subject.txt").write_text("Custom {{ total }}")
    (tmp_path / "email" / "body.txt").write_text("T {{ unsubscribe_url }}")
    (tmp_path / "email" / "body.html").write_text("<p>{{ subject }}</p>")
    custom = Renderer(public_url="https://x.example", templates_dir=tmp_path)
    email = custom.email(digest([item(paper(1))]), unsubscribe_url="https://u")
    assert (email.subject, email.text) == ("Custom 1", "T https://u")
    assert "<p>Custom 1</p>" in email.html


def test_it_finds_the_bundled_templates_by_default(renderer: Renderer) -> None:
    """Without templates_dir, the repository's top-level templates/ folder is used."""
    expected = REPO / "templates"
    assert renderer.templates_dir.resolve() == expected


def test_it_starts_the_meta_line_with_a_link_when_nothing_else_is_known(
    renderer: Renderer,
) -> None:
    """A paper with no authors and no date has no dangling separator before its link."""
    p = replace(paper(10, authors=(), arxiv=False, source_format="lines"), published=None)
    page = _unstyled(_email(renderer, [item(p)]).html)
    assert '<p class="meta"><a href="https://huggingface.co/papers?q=' in page


def test_it_shows_tex_as_unicode_and_highlights_the_matcher_s_spans(renderer: Renderer) -> None:
    """A TeX title reads Schrödinger, and the real matcher's spans mark that very word."""
    from alertbot.match import CorpusStats, match_profile
    from alertbot.model import Profile

    tex = paper(10, title='Entropic Schr\\"odinger Bridges', abstract="On $\\mathbb{T}^{d}$.")
    [found] = match_profile(Profile(("ti:schrodinger",)), [tex], CorpusStats.from_papers([tex]))
    email = _email(renderer, [item(tex, list(found.hits))])
    assert "Entropic <mark>Schrödinger</mark> Bridges" in _unstyled(email.html)
    assert "Entropic Schrödinger Bridges" in email.text
    assert "On 𝕋^d." in email.text
    assert "Schrödinger" in email.subject

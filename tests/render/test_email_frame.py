"""The frame inlined once per shape gives every reader the bytes inlining it per digest gives."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertbot.model import Digest, Suggestion
from alertbot.render import DigestLinks, Renderer
from alertbot.render.frame import escape_attribute, escape_text
from alertbot.render.templates import find_templates
from tests.helpers.builders import digest, email_endpoint, item, paper, subscriber

# Whatever a reader or a feed can put in a string: markup, entities, quotes, no-break and
# other spaces, controls, emoji, RTL text; CR and NUL, which take the per-digest path,
# are left to their own test so that most examples go through the shared frame.
TEXT = st.text(
    st.one_of(
        st.sampled_from(list("&<>\"'=;#/ \u00a0\t\n\x01\x0c\u2028\u202e😀ا")),
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\x00"),
    ),
    max_size=40,
)


@pytest.fixture(scope="module")
def shared() -> Renderer:
    """The bundled templates: frames inlined once per shape."""
    return Renderer(public_url="https://alerts.example.org/")


@pytest.fixture(scope="module")
def per_digest(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    """The same templates as a folder of the reader's own: every frame inlined on its own."""
    folder = tmp_path_factory.mktemp("templates")
    shutil.copytree(find_templates() / "email", folder / "email")
    return Renderer(public_url="https://alerts.example.org/", templates_dir=folder)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=TEXT,
    address=TEXT,
    unsubscribe=TEXT,
    page=st.none() | TEXT,
    archive=TEXT,
    suggestions=st.lists(st.tuples(TEXT, TEXT), max_size=3),
    papers=st.integers(0, 3),
    more=st.integers(0, 3),
    learned=st.booleans(),
)
def test_it_renders_byte_for_byte_what_inlining_each_frame_renders(
    shared: Renderer,
    per_digest: Renderer,
    name: str,
    address: str,
    unsubscribe: str,
    page: str | None,
    archive: str,
    suggestions: list[tuple[str, str]],
    papers: int,
    more: int,
    learned: bool,
) -> None:
    """Any reader's name, address, links and suggestions come out of the shared frame
    exactly as inlining that reader's own frame puts them."""
    reader = replace(subscriber(), name=name)
    endpoint = replace(email_endpoint(), address=address)
    picked = tuple(Suggestion("interest", query, query, 1, 0) for query, _ in suggestions)
    urls = {query: url for query, url in suggestions}
    d = replace(
        digest([item(paper(n)) for n in range(papers)], more),
        subscriber=reader,
        endpoint=endpoint,
        learned=learned,
        suggestions=picked,
    )
    links = DigestLinks(page, archive) if page is not None else None
    assert _both(shared, per_digest, d, unsubscribe, links, urls)


def _both(
    shared: Renderer,
    per_digest: Renderer,
    d: Digest,
    unsubscribe: str,
    links: DigestLinks | None,
    urls: dict[str, str],
) -> bool:
    got, want = (
        r.email(d, unsubscribe_url=unsubscribe, links=links, suggestion_url=lambda s: urls[s.query])
        for r in (shared, per_digest)
    )
    return got == want


@pytest.mark.parametrize("odd", ["\r", "\r\n", "\x00", "a\rb\x00c"])
def test_strings_the_parser_rewrites_come_out_as_inlining_gives_them(
    shared: Renderer, per_digest: Renderer, odd: str
) -> None:
    """CR and NUL, which the HTML parser turns into LF or drops, reach the reader as
    inlining that reader's own frame gives them."""
    d = replace(digest([item(paper(1))], 2), subscriber=replace(subscriber(), name=odd))
    d = replace(d, endpoint=replace(email_endpoint(), address=f"a{odd}@b.org"))
    links = DigestLinks(f"https://x.org/p?{odd}", "https://x.org/a")
    assert _both(shared, per_digest, d, f"https://x.org/u?{odd}", links, {})


def test_a_frame_of_the_readers_own_is_inlined_per_digest(tmp_path: Path) -> None:
    """A custom body.html may transform a string (here: upper case); each reader still
    gets their own, transformed."""
    (tmp_path / "email").mkdir()
    frame = (find_templates() / "email" / "body.html").read_text(encoding="utf-8")
    custom = frame.replace("{{ recipient }}", "{{ recipient|upper }}")
    assert custom != frame
    (tmp_path / "email" / "body.html").write_text(custom, encoding="utf-8")
    renderer = Renderer(public_url="https://alerts.example.org/", templates_dir=tmp_path)
    for address in ("ada@example.org", "grace@example.org"):
        d = replace(digest([item(paper(1))]), endpoint=replace(email_endpoint(), address=address))
        html = renderer.email(d, unsubscribe_url="https://alerts.example.org/u").html
        assert f"You receive this because {address.upper()} subscribed" in html


@pytest.mark.parametrize(
    ("value", "text", "attribute"),
    [
        ("a&b", "a&amp;b", "a&amp;b"),
        ("<b>", "&lt;b&gt;", "<b>"),
        ('say "hi"', 'say "hi"', "say &quot;hi&quot;"),
        ("it's", "it's", "it's"),
        ("no\u00a0break", "no&nbsp;break", "no&nbsp;break"),
        ("&amp;", "&amp;amp;", "&amp;amp;"),
    ],
)
def test_strings_are_escaped_as_the_inliner_writes_them(
    value: str, text: str, attribute: str
) -> None:
    """Text escapes &, <, > and no-break space; a double-quoted attribute &, " and
    no-break space (the serialiser's rules, which differ from Jinja's)."""
    assert (escape_text(value), escape_attribute(value)) == (text, attribute)

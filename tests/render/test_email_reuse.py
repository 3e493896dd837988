"""Each paper is rendered once and reused across readers, without ever mixing them up."""

from __future__ import annotations

import re

from alertbot.model import Hit
from alertbot.render import Renderer
from tests.helpers.builders import digest, item, paper

UNSUBSCRIBE = "https://alerts.example.org/unsubscribe?token=abc"
GRAPH = Hit("graph", "title", "Graph", ((0, 5),))
NUMBER = Hit("number", "title", "number", ((12, 18),))


def _marks(page: str) -> list[str]:
    return re.findall(r"<mark[^>]*>([^<]*)</mark>", page)


def test_a_warm_renderer_gives_each_reader_what_a_fresh_one_gives() -> None:
    """Readers sharing papers get from the reused blocks exactly what a renderer that
    never saw those papers renders."""
    warm = Renderer(public_url="https://alerts.example.org/")
    shared = [item(paper(n), [GRAPH]) for n in range(1, 6)]
    warm.email(digest(shared), unsubscribe_url=UNSUBSCRIBE)
    second = digest([*shared[2:], item(paper(9), [GRAPH])], more=3)
    fresh = Renderer(public_url="https://alerts.example.org/")
    assert warm.email(second, unsubscribe_url=UNSUBSCRIBE) == fresh.email(
        second, unsubscribe_url=UNSUBSCRIBE
    )


def test_the_same_paper_with_another_match_is_rendered_with_its_own_highlights() -> None:
    """A block is reused only for the same paper *and* match: another reader's terms
    are highlighted for that reader."""
    renderer = Renderer(public_url="https://alerts.example.org/")
    one = renderer.email(digest([item(paper(1), [GRAPH])]), unsubscribe_url=UNSUBSCRIBE)
    other = renderer.email(digest([item(paper(1), [NUMBER])]), unsubscribe_url=UNSUBSCRIBE)
    assert _marks(one.html) == ["Graph"]
    assert _marks(other.html) == ["number"]


def _links_of(reader: str):  # type: ignore[no-untyped-def]
    # An "&" in the link shows that the HTML gets it escaped and the text as it is.
    return lambda paper_id, value: f"https://a.example/f?r={reader}&p={paper_id}&v={value}"


def test_readers_sharing_a_block_each_get_their_own_feedback_links() -> None:
    """A block reused across readers carries each reader's own "useful" and "not useful"
    links, exactly where a renderer that never saw the papers puts them."""
    warm = Renderer(public_url="https://alerts.example.org/")
    shared = digest([item(paper(n), [GRAPH]) for n in range(1, 4)])
    warm.email(shared, unsubscribe_url=UNSUBSCRIBE, feedback_url=_links_of("ann"))
    bob = warm.email(shared, unsubscribe_url=UNSUBSCRIBE, feedback_url=_links_of("bob"))
    fresh = Renderer(public_url="https://alerts.example.org/")
    assert bob == fresh.email(shared, unsubscribe_url=UNSUBSCRIBE, feedback_url=_links_of("bob"))
    assert "r=ann" not in bob.text + bob.html
    for n in range(1, 4):
        pid = paper(n).id
        for label, value in (("Useful", "useful"), ("Not useful", "not_useful")):
            url = _links_of("bob")(pid, value)
            assert f"   {label}: {url}\n" in bob.text
            assert f'href="{url.replace("&", "&amp;")}"' in bob.html

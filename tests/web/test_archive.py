"""The reader's archive: their digests newest first, a page at a time, opened by the
archive link of their digests and showing no other reader's."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from alertbot.deliver import queue_due
from alertbot.links import archive_url, signer_for
from alertbot.store.papers import upsert_papers
from alertbot.web.digest import ARCHIVE_PAGE, MAX_PAGE_BYTES
from tests.helpers.digests import papers, reader
from tests.helpers.slack import World


def digest_links(html: str) -> list[str]:
    return [unescape(u) for u in re.findall(r'<li><a href="(/digest/[^"]*)"', html)]


def test_it_lists_the_readers_digests_newest_first_a_page_at_a_time(world: World) -> None:
    """ARCHIVE_PAGE + 5 daily digests: the first page holds the newest ARCHIVE_PAGE, the
    "Older" link the 5 before; each link opens its own digest."""
    sid = reader(world, "ada", ("diffusion",), cap=2)
    reader(world, "bob", ("diffusion",), cap=2)
    days = ARCHIVE_PAGE + 5
    for day in range(days):
        stocked = papers(3, prefix=f"26{day:02d}")
        upsert_papers(world.engine, stocked, source="test", now=world.clock() - timedelta(hours=1))
        queue_due(world.engine, world.settings, now=world.clock())
        world.clock.advance(days=1)
    first = world.http.get(archive_url(world.settings, sid))
    assert first.status_code == 200
    assert len(first.content) < MAX_PAGE_BYTES
    newest = digest_links(first.text)
    assert len(newest) == ARCHIVE_PAGE
    older_link = unescape(re.search(r'<a href="([^"]*)">Older', first.text).group(1))  # type: ignore[union-attr]
    older = world.http.get(older_link)
    rest = digest_links(older.text)
    assert len(rest) == 5
    assert "Older" not in older.text
    ids = [int(u.split("/digest/", 1)[1].split("?", 1)[0]) for u in newest + rest]
    assert ids == sorted(ids, reverse=True)
    signer = signer_for(world.settings)
    for link in newest[:2] + rest[-1:]:
        token = link.split("token=", 1)[1]
        assert signer.read_digest(token).subscriber_id == sid
        assert world.http.get(link).status_code == 200


def test_it_refuses_without_the_readers_archive_link(world: World) -> None:
    """No token, a digest token, another key's token: 403; nothing listed."""
    sid = reader(world, "ada", ("diffusion",), cap=2)
    signer = signer_for(world.settings)
    for token in ("", signer.digest_token(sid, 1), signer.page_form_token(sid), "abc"):
        page = world.http.get(f"/digests?token={token}")
        assert page.status_code == 403
        assert "/digest/" not in page.text


def test_a_garbled_cursor_shows_the_first_page(world: World) -> None:
    """``before`` that does not read is ignored (the newest digests), never a 500."""
    sid = reader(world, "ada", ("diffusion",), cap=2)
    for before in ("x", "2026-13-01.4", "2026-03-01.", ".5"):
        page = world.http.get(archive_url(world.settings, sid) + f"&before={before}")
        assert page.status_code == 200
        assert "No digest yet." in page.text

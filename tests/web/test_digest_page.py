"""The digest's web page: every match the digest kept (beyond the cap too), laid out as
the email lays it out, opened by the digest's own signed link and no other."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import delete

from alertbot.links import archive_url, digest_url, signer_for
from alertbot.model import Match, OutboxState
from alertbot.store import archive, enqueue, schema
from alertbot.store import subscribers as store
from alertbot.store.chosen import Bare
from alertbot.tokens import Signer
from alertbot.web.digest import MAX_PAGE_BYTES, PER_PAGE
from tests.helpers.builders import DAY
from tests.helpers.digests import listed_papers, page_link, papers, queued, reader
from tests.helpers.slack import World
from tests.helpers.tokens import alter_payload, alter_signature


def test_it_lists_every_match_beyond_the_cap_as_stored(world: World) -> None:
    """12 papers match, the cap is 3: the page lists all 12, in the row's stored order
    (the 3 shown, then the 9 stored beyond the cap), each with its highlights."""
    rows = queued(world, papers(12), {"ada": ("diffusion",)}, cap=3)
    row = rows["ada"]
    stored = [m.paper_id for m in (*row.matches(), *row.rest())]
    assert len(row.paper_ids) == 3
    assert row.more == 9
    assert len(stored) == 12
    page = world.http.get(page_link(world, row))
    assert page.status_code == 200
    assert listed_papers(page.text) == stored
    assert page.text.count("<mark>diffusion</mark>") >= 12  # the rest highlighted too
    assert "Not in the message: 9 more" in page.text
    assert "Why: your interest diffusion" in page.text


def test_it_refuses_another_readers_digest(world: World) -> None:
    """Ada's link opens Ada's digest, not Bob's; Bob's digest id with Ada's token is 403."""
    rows = queued(world, papers(4), {"ada": ("diffusion",), "bob": ("diffusion",)}, cap=2)
    ada, bob = rows["ada"], rows["bob"]
    token = page_link(world, ada).split("token=", 1)[1]
    assert world.http.get(f"/digest/{ada.id}?token={token}").status_code == 200
    refused = world.http.get(f"/digest/{bob.id}?token={token}")
    assert refused.status_code == 403
    assert "2603.00000" not in refused.text


def test_it_refuses_forged_altered_and_foreign_tokens(world: World) -> None:
    """Another key's token, a cut one, a feedback or archive token, none, an absurd one
    and a deleted reader's each get a 403 showing no paper."""
    rows = queued(world, papers(3), {"ada": ("diffusion",), "gone": ("diffusion",)}, cap=2)
    row, gone = rows["ada"], rows["gone"]
    good = page_link(world, row).split("token=", 1)[1]
    signer = signer_for(world.settings)
    foreign = [
        Signer("another-secret-key-0123456789").digest_token(row.subscriber_id, row.id),
        good[:-3],
        alter_signature(good),
        alter_payload(good),
        signer.feedback_token(row.subscriber_id, "2603.00000", "useful"),
        signer.archive_token(row.subscriber_id),
        "",
        "x" * 5000,
    ]
    for token in foreign:
        page = world.http.get(f"/digest/{row.id}?token={token}")
        assert page.status_code == 403, token
        assert "2603.00000" not in page.text
    gone_link = page_link(world, gone)
    store.delete_subscriber(world.engine, gone.subscriber_id)
    assert world.http.get(gone_link).status_code == 403


def test_a_pruned_digests_link_says_it_is_no_longer_kept(world: World) -> None:
    """Past ``retention.digest_days`` the cleanup job deletes a digest: its own link (and
    its page's forms) then get 410 and why, not the 403 of a link that never opened it;
    another reader's link for that id still gets 403."""
    rows = queued(world, papers(2), {"ada": ("diffusion",), "bob": ("diffusion",)}, cap=2)
    row, bob = rows["ada"], rows["bob"]
    link = page_link(world, row)
    with world.engine.begin() as conn:
        conn.execute(delete(schema.outbox).where(schema.outbox.c.id == row.id))
    page = world.http.get(link)
    assert page.status_code == 410
    assert "older than the 365 days alertbot keeps digests" in page.text
    assert "2603.00000" not in page.text
    form = world.http.post(link.replace("?", "/feedback?"), data={"paper": "2603.00000"})
    assert form.status_code == 410
    bobs = digest_url(world.settings, bob.subscriber_id, bob.id).split("token=", 1)[1]
    assert world.http.get(f"/digest/{row.id}?token={bobs}").status_code == 403


def test_it_escapes_paper_text(world: World) -> None:
    """A title carrying markup is shown as text: no tag of it reaches the page."""
    hostile = replace(
        papers(1)[0], title="Diffusion <script>alert(1)</script><img src=x onerror=y>"
    )
    row = queued(world, [hostile], {"ada": ("diffusion",)}, cap=3)["ada"]
    page = world.http.get(page_link(world, row))
    assert "<script>alert(1)" not in page.text
    assert "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_its_policy_allows_only_its_own_style_and_script(world: World) -> None:
    """The page's CSP: nothing by default, its inline style and script by hash, fetches
    to its own origin only; no inline event handler and no outside address is used."""
    row = queued(world, papers(2), {"ada": ("diffusion",)}, cap=3)["ada"]
    page = world.http.get(page_link(world, row))
    policy = page.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'")
    assert "script-src 'sha256-" in policy
    assert "style-src 'sha256-" in policy
    assert "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert " onclick=" not in page.text
    assert "<script src" not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_a_long_digest_stays_under_the_page_weight_in_pages(world: World) -> None:
    """120 matches with long abstracts: pages of at most PER_PAGE papers, each under
    MAX_PAGE_BYTES with its CSS and script, together listing every match once."""
    row = queued(world, papers(120, long=True), {"ada": ("diffusion",)}, cap=20)["ada"]
    link = page_link(world, row)
    seen: list[str] = []
    for n in (1, 2, 3):
        page = world.http.get(link + (f"&page={n}" if n > 1 else ""))
        assert page.status_code == 200
        assert len(page.content) < MAX_PAGE_BYTES
        listed = listed_papers(page.text)
        assert 0 < len(listed) <= PER_PAGE
        seen += listed
    assert seen == [m.paper_id for m in (*row.matches(), *row.rest())]
    assert len(seen) == 120


def test_the_page_links_the_readers_archive(world: World) -> None:
    """The footer's "Past digests" is the archive link the message carries."""
    row = queued(world, papers(2), {"ada": ("diffusion",)}, cap=3)["ada"]
    page = world.http.get(page_link(world, row))
    token = archive_url(world.settings, row.subscriber_id).split("token=", 1)[1]
    assert f'href="/digests?token={token}"' in page.text


def test_the_service_serves_the_digest_pages(world: World) -> None:
    """alertbot run's routes include the digest page, its feedback and the archive."""
    from alertbot.service import extra_routes

    paths = {
        getattr(r, "path", None)
        for r in extra_routes(world.engine, world.settings, now=world.clock)
    }
    assert {"/digest/{outbox_id:int}", "/digest/{outbox_id:int}/feedback", "/digests"} <= paths


def test_a_row_from_before_stored_matches_shows_its_papers(world: World) -> None:
    """A sent row queued before 0007 (papers only, no stored matches, no rest) opens:
    its papers, unhighlighted, and how many more there were."""
    stocked = papers(3)
    queued(world, stocked, {}, cap=3)  # stores the papers
    sid = reader(world, "old", ("diffusion",), cap=3)
    (endpoint,) = store.get_subscriber(world.engine, sid).endpoints  # type: ignore[union-attr]
    ids = [p.id for p in stocked[:2]]
    assert enqueue.insert(
        world.engine, subscriber_id=sid, endpoint_id=endpoint.id, digest_date=DAY,
        paper_ids=ids, more=5, state=OutboxState.SENT, now=world.clock(),
    )  # fmt: skip
    (row,) = archive.reader_rows(world.engine, sid, limit=5)
    page = world.http.get(page_link(world, row))
    assert page.status_code == 200
    assert listed_papers(page.text) == ids
    assert "and 5 more matched that this page cannot list" in page.text


def test_it_says_how_many_more_matched_than_it_kept(world: World) -> None:
    """A row whose rest was bounded (more than MAX_REST beyond the cap) lists what it
    kept and counts the others."""
    stocked = papers(4)
    queued(world, stocked, {}, cap=3)
    sid = reader(world, "wide", ("diffusion",), cap=1)
    (endpoint,) = store.get_subscriber(world.engine, sid).endpoints  # type: ignore[union-attr]
    first = Match(stocked[0].id, 2.0, ("diffusion",))
    rest = Bare(("diffusion",), [p.id for p in stocked[1:]], [1.5, 1.2, 1.0])
    assert enqueue.insert(
        world.engine, subscriber_id=sid, endpoint_id=endpoint.id, digest_date=DAY,
        paper_ids=[first.paper_id], more=1003, state=OutboxState.SENT, now=world.clock(),
        matches=[first], rest=rest,
    )  # fmt: skip
    (row,) = archive.reader_rows(world.engine, sid, limit=5)
    page = world.http.get(page_link(world, row))
    assert listed_papers(page.text) == [p.id for p in stocked]
    assert "and 1000 more matched that this page cannot list" in page.text

"""GET and HEAD never change anything, on any route; every HTML page sends strict headers.

Mail scanners and link previewers fetch links with GET or HEAD, sometimes with the body
a one-click POST would carry: none of that may unsubscribe or confirm anybody.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import Route

from alertbot.links import signer_for
from alertbot.model import EndpointKind, FetchStatus
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as store
from alertbot.store.archive import digest_row
from alertbot.store.fetches import FetchRecord, record_fetch
from alertbot.store.schema import metadata
from tests.helpers.digests import papers, queued
from tests.helpers.slack import World, store_recent_papers

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
SAFE_METHODS = ("GET", "HEAD")


def snapshot(world: World) -> dict[str, list[str]]:
    """Every row of every table, as text: equal snapshots mean nothing changed."""
    with world.engine.connect() as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for table in metadata.sorted_tables
        }


def populate(world: World) -> dict[str, str]:
    """A store with something to change (an active address, one awaiting confirmation,
    papers, a fetch); returns tokens that name them."""
    now = world.clock()
    sub = store.create_subscriber(world.engine, name="ada", now=now)
    active = endpoint_store.add_endpoint(
        world.engine, sub.id, EndpointKind.EMAIL, "ada@example.org", now=now
    )
    waiting = endpoint_store.add_endpoint(
        world.engine, sub.id, EndpointKind.EMAIL, "ada@example.net", now=now, confirmed=False
    )
    endpoint_store.set_endpoint_active(
        world.engine, waiting.id, False, reason="awaiting confirmation"
    )
    store_recent_papers(world.engine, now)
    record_fetch(
        world.engine,
        FetchRecord(
            source="hf", location="a", started_at=now, finished_at=now, status=FetchStatus.OK
        ),
    )
    signer = signer_for(world.settings)
    # A queued digest, so the walk reaches the digest page (/digest/1) and the archive.
    queued(world, papers(3), {"bob": ("diffusion",)}, cap=2)
    first = digest_row(world.engine, 1)
    assert first is not None
    return {
        "unsubscribe": signer.unsubscribe_token(sub.id, active.id),
        "confirm": signer.confirm_token(sub.id, waiting.id, waiting.address),
        "digest": signer.digest_token(first.subscriber_id, first.id),
        "archive": signer.archive_token(first.subscriber_id),
    }


def paths(world: World) -> list[str]:
    """Every route the app serves (path parameters filled with 1)."""
    app: Any = world.http.app
    routes = [r for r in app.routes if isinstance(r, Route)]
    assert len(routes) >= 6  # healthz, metrics, two Slack, unsubscribe, confirm
    return sorted({re.sub(r"\{[^}]*\}", "1", r.path) for r in routes})


def requests(world: World, tokens: dict[str, str], methods: tuple[str, ...]) -> Iterator[Any]:
    """Every route, by each method, without a token and with each token, with the body a
    one-click POST carries."""
    for path in paths(world):
        for method in methods:
            for token in (None, *tokens.values()):
                params = {"token": token} if token else {}
                yield world.http.request(method, path, params=params, data=ONE_CLICK)


def test_it_never_unsubscribes_on_head_even_with_a_one_click_body(world: World) -> None:
    """HEAD /unsubscribe with List-Unsubscribe=One-Click leaves the address subscribed."""
    tokens = populate(world)
    response = world.http.request(
        "HEAD", "/unsubscribe", params={"token": tokens["unsubscribe"]}, data=ONE_CLICK
    )
    assert response.status_code == 200
    assert all(e.active for e in store.list_subscribers(world.engine)[0].endpoints if e.confirmed)


def test_it_never_confirms_on_head(world: World) -> None:
    """HEAD /confirm leaves the address unconfirmed."""
    tokens = populate(world)
    before = snapshot(world)
    response = world.http.request("HEAD", "/confirm", params={"token": tokens["confirm"]})
    assert response.status_code == 200
    assert snapshot(world) == before


def test_it_changes_no_row_on_any_get_or_head(world: World) -> None:
    """Walking every route with GET and HEAD (with and without valid tokens) changes nothing."""
    tokens = populate(world)
    before = snapshot(world)
    statuses = [r.status_code for r in requests(world, tokens, SAFE_METHODS)]
    assert snapshot(world) == before
    assert 200 in statuses  # the walk reached real pages, not only refusals
    assert 500 not in statuses  # (503 is /healthz saying no scheduler runs in this test)


def test_the_walk_would_see_a_post_change_a_row(world: World) -> None:
    """The same walk by POST unsubscribes: the snapshot does see the change."""
    tokens = populate(world)
    before = snapshot(world)
    world.http.post("/unsubscribe", params={"token": tokens["unsubscribe"]}, data=ONE_CLICK)
    assert snapshot(world) != before


def style_hashes(html: str, tag: str = "style") -> set[str]:
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
        for css in re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    }


def assert_strict_headers(response: httpx.Response) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if " " in d.strip())
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "*" not in csp
    # The page's own inline style is allowed by its hash, so the strict policy breaks nothing.
    if response.request.method != "HEAD":
        assert style_hashes(response.text) <= set(directives.get("style-src", "").split())
        scripts = style_hashes(response.text, "script")
        assert scripts <= set(directives.get("script-src", "").split())
        if scripts:  # a page's script may post its forms back, to its own origin only
            assert directives["connect-src"] == "'self'"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert headers["x-robots-tag"] == "noindex"


def test_every_html_response_has_a_strict_policy_and_the_link_page_headers(world: World) -> None:
    """Every HTML answer of every route (pages, refusals) carries a strict CSP and friends."""
    tokens = populate(world)
    html = [
        r
        for r in requests(world, tokens, (*SAFE_METHODS, "POST"))
        if r.headers.get("content-type", "").startswith("text/html")
    ]
    assert len(html) >= 8
    for response in html:
        assert_strict_headers(response)


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/no-such-page"])
def test_it_sends_nosniff_and_no_store_on_other_answers(world: World, path: str) -> None:
    """JSON, metrics and 404 answers are never sniffed as HTML nor cached."""
    response = world.http.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"

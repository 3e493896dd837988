"""The account pages as an attacker or a mail scanner sees them: every form refuses a
POST without its CSRF token, every page carries the strict policy and runs no inline
script or style, no GET changes the store, and every page is light."""

from __future__ import annotations

import re
from typing import Any

import httpx
import httpx2
import pytest
from starlette.routing import Route

from alertbot.web.headers import SITE_POLICY
from tests.helpers.web import Accounts, snapshot, store_sample_papers

ACCOUNT_POSTS = {
    "/signup": {"email": "eve@example.org", "interest": "x", "timezone": "UTC", "send_time": "8"},
    "/signin": {"email": "ada@example.org"},
    "/signout": {},
    "/account/queries/add": {"kind": "interest", "query": "graph"},
    "/account/queries/change": {"kind": "interest", "position": "1", "action": "remove"},
    "/account/queries/clear": {},
    "/account/suggestion": {"kind": "interest", "query": "graph"},
    "/account/schedule": {"send_time": "9", "timezone": "UTC", "frequency": "daily"},
    "/account/state": {"action": "pause"},
    "/account/email": {"email": "eve@example.org"},
    "/account/unsubscribe": {},
}
PAGES = [
    "/signup",
    "/signin",
    "/check-email",
    "/signed-out",
    "/goodbye",
    "/account",
    "/account?kind=interest&query=graph+AND&try-preview=1",
]


def routes(accounts: Accounts, method: str) -> set[str]:
    app: Any = accounts.http.app
    return {
        r.path for r in app.routes if isinstance(r, Route) and r.methods and method in r.methods
    }


@pytest.fixture
def ada(accounts: Accounts) -> Accounts:
    accounts.sign_up()
    accounts.sign_in()
    return accounts


def test_the_list_of_forms_is_every_account_post(ada: Accounts) -> None:
    """The CSRF table below covers every POST route of the account pages (the digest
    page's feedback form has its own CSRF tests: tests/web/test_digest_*.py; the signed
    links' one-button pages, a suggestion's included, act on their token alone)."""
    posts = routes(ada, "POST") - {
        "/unsubscribe",
        "/confirm",
        "/feedback",
        "/suggestion",
        "/digest/{outbox_id:int}/feedback",
    }
    assert posts == {*ACCOUNT_POSTS, "/signin/link"}


@pytest.mark.parametrize("path", [*ACCOUNT_POSTS, "/signin/link"])
@pytest.mark.parametrize("token", ["missing", "forged", "another browser's"])
def test_a_post_without_the_forms_csrf_token_is_refused(
    ada: Accounts, path: str, token: str
) -> None:
    """403, and nothing changes: with no token, a forged one, or one signed for another
    browser's CSRF cookie (the double-submit pair must match)."""
    data = dict(ACCOUNT_POSTS.get(path, {}))
    if token == "forged":
        data["csrf"] = "forged.token.value"
    elif token == "another browser's":
        data["csrf"] = ada.sessions_csrf_for("another-browser-secret")
    before = snapshot(ada.engine)
    sent = len(ada.sink.messages)
    response = ada.http.post(path, data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "Nothing was changed" in response.text
    assert snapshot(ada.engine) == before
    assert len(ada.sink.messages) == sent


def test_a_csrf_token_passes_with_its_own_cookie(ada: Accounts) -> None:
    """The same forms with the page's token do work (the refusals above are about the token)."""
    response = ada.post("/account/state", {"action": "pause"}, csrf_from="/account")
    assert response.status_code == 303


def assert_strict(response: httpx.Response | httpx2.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert csp == SITE_POLICY
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp
    html = response.text
    # Nothing inline for the policy to refuse: every script and style comes from /assets.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("signed_in", [True, False])
def test_every_page_carries_the_strict_policy(accounts: Accounts, signed_in: bool) -> None:
    """Signed in or not, each page (and the preview fragment) sends script-src 'self'."""
    if signed_in:
        accounts.sign_up()
        accounts.sign_in()
    for path in [*PAGES, "/account/preview?interest=graph"]:
        response = accounts.http.get(path)
        if response.status_code == 401:  # the preview, signed out
            continue
        assert response.headers["content-type"].startswith("text/html"), path
        assert_strict(response)


def test_no_get_or_head_changes_the_store(ada: Accounts) -> None:
    """Every GET route of the app, signed in, with and without parameters that a form
    would POST (and every GET path known to take a token) leaves every row as it was."""
    paths = routes(ada, "GET")
    before = snapshot(ada.engine)
    statuses = []
    for path in sorted(paths):
        concrete = re.sub(r"\{[^}]*\}", "1", path.replace("{name}", "site.css"))
        for method in ("GET", "HEAD"):
            for params in ({}, {"action": "pause", "query": "graph", "kind": "interest"}):
                response = ada.http.request(method, concrete, params=params, data=ACCOUNT_POSTS)
                statuses.append(response.status_code)
    assert snapshot(ada.engine) == before
    assert 200 in statuses
    assert 500 not in statuses
    assert {"/account", "/account/preview", "/signin/link", "/signup"} <= paths


def test_the_walk_would_see_a_post_change_a_row(ada: Accounts) -> None:
    """The snapshot does see a change when a form is posted (the test above can fail)."""
    before = snapshot(ada.engine)
    ada.post("/account/state", {"action": "pause"}, csrf_from="/account")
    assert snapshot(ada.engine) != before


def test_every_page_weighs_under_100_kb_with_its_css_and_js(ada: Accounts) -> None:
    """The HTML plus every stylesheet and script it links, for each page (the account
    page with a full preview: a digest's 20 papers of the real sample listing)."""
    store_sample_papers(ada.engine, ada.clock())
    ada.post(
        "/account/queries/add", {"kind": "interest", "query": "learning"}, csrf_from="/account"
    )
    for path in PAGES:
        page = ada.http.get(path)
        assets = re.findall(r'(?:href|src)="(/assets/[^"]+)"', page.text)
        weight = len(page.content) + sum(len(ada.http.get(a).content) for a in set(assets))
        assert weight < 100_000, f"{path} weighs {weight} bytes"
    assert 'data-total="30"' in ada.http.get("/account").text  # the preview was full


def test_the_assets_are_served_as_what_they_are(accounts: Accounts) -> None:
    """CSS as text/css and the script as JavaScript (nosniff would refuse anything else)."""
    css = accounts.http.get("/assets/site.css")
    js = accounts.http.get("/assets/account.js")
    assert css.headers["content-type"].startswith("text/css")
    assert js.headers["content-type"].startswith("text/javascript")
    assert accounts.http.get("/assets/secret_key").status_code == 404

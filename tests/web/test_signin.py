"""Signing in by emailed link: single use, short-lived, bound to its subscriber; the
same answer for a known and an unknown address; sessions end on sign-out and unsubscribe."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from alertbot.links import signin_url
from alertbot.tokens import SIGNIN_MAX_AGE_SECONDS
from tests.helpers.web import Accounts, accounts_app, link_in, local, snapshot


def test_it_signs_in_with_the_emailed_link(accounts: Accounts) -> None:
    """The link from the email, then its button: a session cookie and the account page."""
    accounts.sign_up()
    response = accounts.sign_in()
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    page = accounts.http.get("/account")
    assert page.status_code == 200
    assert "My interests" in page.text
    assert 'value="diffusion"' in page.text


def test_the_session_cookie_is_httponly_and_samesite_lax(accounts: Accounts) -> None:
    """The cookie cannot be read by a script, and is not sent on cross-site POSTs."""
    accounts.sign_up()
    cookie = accounts.sign_in().headers["set-cookie"].lower()
    assert "alertbot_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # public_url is http here


def test_the_session_cookie_is_secure_behind_https(sqlite_engine: Engine, tmp_path: Path) -> None:
    """With an https public_url the cookie is only ever sent over TLS."""
    with accounts_app(sqlite_engine, tmp_path, web={"public_url": "https://alerts.example"}) as app:
        app.sign_up()
        assert "; secure" in app.sign_in().headers["set-cookie"].lower()


def test_the_link_page_changes_nothing_on_get(accounts: Accounts) -> None:
    """A mail scanner opening the link neither spends it nor signs anybody in."""
    accounts.sign_up()
    assert accounts.post("/signin", {"email": "ada@example.org"}).status_code == 303
    link = local(link_in(accounts.mails(2)[1]))
    before = snapshot(accounts.engine)
    page = accounts.http.get(link)
    assert page.status_code == 200
    assert "set-cookie" not in page.headers or "alertbot_session" not in page.headers["set-cookie"]
    assert snapshot(accounts.engine) == before
    assert accounts.post(link, {}, csrf_from=link).status_code == 303


def test_a_used_link_signs_nobody_in_again(accounts: Accounts) -> None:
    """Single use: the second press of the same link is refused, with no cookie."""
    accounts.sign_up()
    assert accounts.post("/signin", {"email": "ada@example.org"}).status_code == 303
    link = local(link_in(accounts.mails(2)[1]))
    assert accounts.post(link, {}, csrf_from="/signin").status_code == 303
    accounts.http.cookies.clear()
    again = accounts.post(link, {}, csrf_from="/signin")
    assert again.status_code == 400
    assert accounts.http.get(link).status_code == 400  # its page says so before the button
    assert "alertbot_session" not in again.headers.get("set-cookie", "")
    assert accounts.http.get("/account", follow_redirects=False).headers["location"] == "/signin"


def test_an_expired_link_is_refused(accounts: Accounts) -> None:
    """A link older than its lifetime (15 minutes) signs nobody in."""
    sub = accounts.sign_up()
    url = local(signin_url(accounts.settings, sub.id, sub.endpoints[0].id))
    with pytest.MonkeyPatch.context() as patch:
        # itsdangerous reads the real clock: age the token by moving it forward.
        import time as time_module

        real = time_module.time
        patch.setattr(time_module, "time", lambda: real() + SIGNIN_MAX_AGE_SECONDS + 5)
        page = accounts.http.get(url)
        pressed = accounts.post(url, {}, csrf_from="/signin")
    assert page.status_code == 400
    assert pressed.status_code == 400
    assert "expired" in page.text


def test_a_link_for_another_subscribers_address_is_refused(accounts: Accounts) -> None:
    """The token binds subscriber and address: one naming someone else's address fails."""
    ada = accounts.sign_up("ada@example.org")
    bob = accounts.sign_up("bob@example.org")
    url = local(signin_url(accounts.settings, ada.id, bob.endpoints[0].id))
    assert accounts.http.get(url).status_code == 400


@pytest.mark.parametrize("path", ["/signin", "/signup"])
def test_it_answers_the_same_for_a_known_and_an_unknown_address(
    accounts: Accounts, path: str
) -> None:
    """No account enumeration: the same status, location and page either way."""
    accounts.sign_up("ada@example.org")
    form = {"interest": "graph", "timezone": "UTC", "send_time": "08:00"}
    known = accounts.post(path, {"email": "ada@example.org", **form}, csrf_from=path)
    unknown = accounts.post(path, {"email": "zed@example.org", **form}, csrf_from=path)
    assert (known.status_code, known.headers["location"]) == (303, "/check-email")
    assert (unknown.status_code, unknown.headers["location"]) == (303, "/check-email")
    assert known.text == unknown.text


def test_a_known_address_gets_a_sign_in_link_and_an_unknown_one_nothing(accounts: Accounts) -> None:
    """Behind the same page: the owner is mailed a way in; a stranger's address is not."""
    accounts.sign_up("ada@example.org")
    accounts.post("/signin", {"email": "zed@example.org"})
    accounts.post("/signin", {"email": "ada@example.org"})
    messages = accounts.mails(2)
    assert [m["To"] for m in messages] == ["ada@example.org", "ada@example.org"]
    assert "/signin/link?token=" in link_in(messages[1])


def test_sign_in_links_are_limited_per_address(accounts: Accounts) -> None:
    """outgoing_mail.per_address sign-in emails to one address, then a 429 and no mail."""
    accounts.sign_up("ada@example.org")
    per_address = accounts.settings.outgoing_mail.per_address
    answers = [
        accounts.post("/signin", {"email": "ada@example.org"}).status_code
        for _ in range(per_address + 1)
    ]
    assert answers == [303] * per_address + [429]
    assert len(accounts.mails(1 + per_address)) == 1 + per_address


def test_sign_in_links_are_limited_per_client(sqlite_engine: Engine, tmp_path: Path) -> None:
    """One client asking for many addresses is stopped at outgoing_mail.per_requester."""
    with accounts_app(
        sqlite_engine, tmp_path, outgoing_mail={"per_requester": 2, "per_address": 5}
    ) as app:
        answers = [
            app.post("/signin", {"email": f"user{n}@example.org"}).status_code for n in range(3)
        ]
    assert answers == [303, 303, 429]


def test_signing_out_ends_the_session_everywhere(accounts: Accounts) -> None:
    """After sign-out, the old cookie (copied elsewhere) no longer opens the account."""
    accounts.sign_up()
    accounts.sign_in()
    stolen = accounts.http.cookies.get("alertbot_session")
    assert stolen
    assert accounts.post("/signout", {}, csrf_from="/account").status_code == 303
    accounts.http.cookies.set("alertbot_session", stolen)
    assert accounts.http.get("/account", follow_redirects=False).headers["location"] == "/signin"


def test_unsubscribing_by_the_email_link_ends_the_session(accounts: Accounts) -> None:
    """The one-click unsubscribe link in a digest also signs the reader out."""
    from alertbot.links import unsubscribe_url

    sub = accounts.sign_up()
    accounts.sign_in()
    assert accounts.http.get("/account").status_code == 200
    url = local(unsubscribe_url(accounts.settings, sub.id, sub.endpoints[0].id))
    assert accounts.http.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert accounts.http.get("/account", follow_redirects=False).status_code == 303


def test_a_forged_session_cookie_is_nobody(accounts: Accounts) -> None:
    """A cookie not signed with the key opens nothing."""
    accounts.sign_up()
    accounts.http.cookies.set("alertbot_session", "WzEsMF0.forged.signature")
    assert accounts.http.get("/account", follow_redirects=False).status_code == 303

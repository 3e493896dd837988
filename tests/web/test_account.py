"""The account pages: sign-up, interests and exclusions with the parser's column,
schedule, pause, channels and unsubscribe, all through plain forms (no JavaScript)."""

from __future__ import annotations

import re
from datetime import time
from html import unescape
from pathlib import Path

from sqlalchemy import Engine

from alertbot.links import signer_for
from alertbot.model import Frequency
from alertbot.store import subscribers as store
from tests.helpers.slack import SIGNING_SECRET
from tests.helpers.web import Accounts, accounts_app, link_in, snapshot


def signed_in(accounts: Accounts, interest: str = "diffusion") -> int:
    sub = accounts.sign_up(interest=interest)
    accounts.sign_in()
    return sub.id


def profile(accounts: Accounts, subscriber_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    found = store.get_subscriber(accounts.engine, subscriber_id)
    assert found is not None
    return found.profile.interests, found.profile.exclusions


def test_signing_up_stores_the_reader_with_the_address_awaiting_confirmation(
    accounts: Accounts,
) -> None:
    """Address, first interest, zone and send time are kept; nothing is sent there yet."""
    response = accounts.post(
        "/signup",
        {
            "email": "ada@example.org",
            "interest": '"protein design"',
            "timezone": "Europe/Paris",
            "send_time": "07:30",
        },
        csrf_from="/signup",
    )
    assert (response.status_code, response.headers["location"]) == (303, "/check-email")
    owner = accounts.service.email_owner("ada@example.org")
    assert owner is not None
    sub = accounts.service.get(owner[0])
    assert sub is not None
    assert sub.profile.interests == ('"protein design"',)
    assert (sub.timezone, sub.send_time) == ("Europe/Paris", time(7, 30))
    (endpoint,) = sub.endpoints
    assert (endpoint.active, endpoint.confirmed) == (False, False)
    (message,) = accounts.mails(1)
    assert message["To"] == "ada@example.org"
    assert "/confirm?token=" in link_in(message)


def test_the_confirmation_link_turns_the_address_on(accounts: Accounts) -> None:
    """Double opt-in: the emailed /confirm link (its button) starts the digests."""
    sub = accounts.sign_up()
    (endpoint,) = sub.endpoints
    assert (endpoint.active, endpoint.confirmed) == (True, True)


def test_a_sign_up_with_a_typo_shows_the_column_and_stores_nothing(accounts: Accounts) -> None:
    """The parser's error at its column under the field; no subscriber, no email."""
    before = snapshot(accounts.engine)
    response = accounts.post(
        "/signup",
        {"email": "ada@example.org", "interest": "graph AND", "timezone": "UTC", "send_time": "8"},
        csrf_from="/signup",
    )
    assert response.status_code == 400
    assert "AND needs a term after it, at column 7" in response.text
    assert "graph AND\n      ^" in response.text
    assert 'value="graph AND"' in response.text  # what was typed is kept
    assert snapshot(accounts.engine) == before
    assert accounts.sink.messages == []


def test_a_sign_up_with_a_bad_zone_or_time_says_so(accounts: Accounts) -> None:
    """An unknown zone is refused in one line, and nothing is stored."""
    response = accounts.post(
        "/signup",
        {"email": "ada@example.org", "interest": "x", "timezone": "Mars/Olympus", "send_time": "8"},
        csrf_from="/signup",
    )
    assert response.status_code == 400
    assert "unknown time zone" in response.text
    assert accounts.service.email_owner("ada@example.org") is None


def test_it_adds_an_interest_and_an_exclusion(accounts: Accounts) -> None:
    """POST + redirect: each is added to the profile."""
    sid = signed_in(accounts)
    add = {"kind": "interest", "query": "ti:graph"}
    assert accounts.post("/account/queries/add", add, csrf_from="/account").status_code == 303
    add = {"kind": "exclusion", "query": "survey"}
    assert accounts.post("/account/queries/add", add, csrf_from="/account").status_code == 303
    assert profile(accounts, sid) == (("diffusion", "ti:graph"), ("survey",))


def test_an_interest_with_a_typo_is_shown_at_its_column_and_not_added(accounts: Accounts) -> None:
    """A 400 page with the caret under the column; the profile is unchanged."""
    sid = signed_in(accounts)
    response = accounts.post(
        "/account/queries/add",
        {"kind": "interest", "query": '"graph neural'},
        csrf_from="/account",
    )
    assert response.status_code == 400
    assert "unclosed quote, at column 1" in response.text
    assert profile(accounts, sid) == (("diffusion",), ())


def test_it_edits_and_removes_an_interest(accounts: Accounts) -> None:
    """The row's Save replaces the query; its Remove drops it."""
    sid = signed_in(accounts)
    change = {"kind": "interest", "position": "1", "action": "save", "query": "diffusion^2"}
    assert accounts.post("/account/queries/change", change, csrf_from="/account").status_code == 303
    assert profile(accounts, sid) == (("diffusion^2",), ())
    change = {"kind": "interest", "position": "1", "action": "remove"}
    assert accounts.post("/account/queries/change", change, csrf_from="/account").status_code == 303
    assert profile(accounts, sid) == ((), ())


def test_it_forgets_every_interest_and_exclusion_at_once(accounts: Accounts) -> None:
    """What /subscribe clear does: the profile is empty, schedule and channels stay."""
    sid = signed_in(accounts)
    accounts.post("/account/queries/add", {"kind": "exclusion", "query": "x"}, csrf_from="/account")
    assert accounts.post("/account/queries/clear", {}, csrf_from="/account").status_code == 303
    assert profile(accounts, sid) == ((), ())
    sub = accounts.service.get(sid)
    assert sub is not None
    assert sub.endpoints[0].active is True


def test_an_edit_with_a_typo_is_shown_beside_its_row(accounts: Accounts) -> None:
    """The error at the column, under the row edited; the old query stays."""
    sid = signed_in(accounts)
    change = {"kind": "interest", "position": "1", "action": "save", "query": "a OR OR b"}
    response = accounts.post("/account/queries/change", change, csrf_from="/account")
    assert response.status_code == 400
    assert "OR needs a term after it, at column 3" in response.text
    assert profile(accounts, sid) == (("diffusion",), ())


def test_it_sets_the_schedule(accounts: Accounts) -> None:
    """Send time, zone, and weekly on a day."""
    sid = signed_in(accounts)
    form = {
        "send_time": "18:45",
        "timezone": "Asia/Tokyo",
        "frequency": "weekly",
        "weekly_day": "4",
    }
    assert accounts.post("/account/schedule", form, csrf_from="/account").status_code == 303
    sub = accounts.service.get(sid)
    assert sub is not None
    assert (sub.send_time, sub.timezone, sub.frequency, sub.weekly_day) == (
        time(18, 45),
        "Asia/Tokyo",
        Frequency.WEEKLY,
        4,
    )


def test_a_bad_schedule_changes_nothing(accounts: Accounts) -> None:
    """An unknown zone is a 400 with the reason; the schedule stays."""
    sid = signed_in(accounts)
    form = {"send_time": "18:45", "timezone": "Nowhere/Land", "frequency": "daily"}
    response = accounts.post("/account/schedule", form, csrf_from="/account")
    assert response.status_code == 400
    assert "unknown time zone" in response.text
    sub = accounts.service.get(sid)
    assert sub is not None
    assert sub.send_time == time(7, 30)


def test_it_pauses_and_resumes(accounts: Accounts) -> None:
    """Pause stops the digests; resume starts them again on the confirmed address."""
    sid = signed_in(accounts)
    accounts.post("/account/state", {"action": "pause"}, csrf_from="/account")
    sub = accounts.service.get(sid)
    assert sub is not None
    assert sub.active is False
    accounts.post("/account/state", {"action": "resume"}, csrf_from="/account")
    sub = accounts.service.get(sid)
    assert sub is not None
    assert sub.active is True
    assert sub.endpoints[0].active is True


def test_another_address_waits_for_its_own_confirmation(accounts: Accounts) -> None:
    """A second address is off until its emailed link is opened."""
    sid = signed_in(accounts)
    sent = len(accounts.sink.messages)
    form = {"email": "ada@work.example"}
    assert accounts.post("/account/email", form, csrf_from="/account").status_code == 303
    sub = accounts.service.get(sid)
    assert sub is not None
    added = next(e for e in sub.endpoints if e.address == "ada@work.example")
    assert (added.active, added.confirmed) == (False, False)
    assert accounts.mails(sent + 1)[sent]["To"] == "ada@work.example"


def test_unsubscribing_stops_everything_and_signs_out(accounts: Accounts) -> None:
    """Every channel off, the reader paused, the session over; the profile is kept."""
    sid = signed_in(accounts)
    response = accounts.post("/account/unsubscribe", {}, csrf_from="/account")
    assert (response.status_code, response.headers["location"]) == (303, "/goodbye")
    sub = accounts.service.get(sid)
    assert sub is not None
    assert sub.active is False
    assert not any(e.active for e in sub.endpoints)
    assert sub.profile.interests == ("diffusion",)
    assert accounts.http.get("/account", follow_redirects=False).headers["location"] == "/signin"


def test_user_text_is_escaped_everywhere_it_shows(accounts: Accounts) -> None:
    """A query that is HTML shows as text on the page and in the preview."""
    signed_in(accounts, interest='"<script>alert(1)</script>"')
    page = accounts.http.get("/account").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    fragment = accounts.http.get("/account/preview", params={"interest": "<b>x</b> AND"}).text
    assert "<b>x</b>" not in fragment


def test_the_no_javascript_preview_button_previews_the_draft(accounts: Accounts) -> None:
    """GET /account with the add form's fields previews profile + draft, storing nothing."""
    sid = signed_in(accounts)
    before = snapshot(accounts.engine)
    page = accounts.http.get(
        "/account", params={"kind": "interest", "query": "graph AND", "try-preview": "1"}
    )
    assert "AND needs a term after it, at column 7" in page.text
    assert snapshot(accounts.engine) == before
    assert profile(accounts, sid) == (("diffusion",), ())


def test_with_the_slack_app_the_page_shows_a_code_to_link_a_slack_user(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """A signed code for /subscribe link, bound to this reader; none without Slack."""
    with accounts_app(sqlite_engine, tmp_path, slack={"signing_secret": SIGNING_SECRET}) as app:
        sub = app.sign_up()
        app.sign_in()
        found = re.search(r"/subscribe link (\S+)</code>", app.http.get("/account").text)
    assert found is not None
    claim = signer_for(app.settings).read_slack_link(unescape(found.group(1)))
    assert claim.subscriber_id == sub.id


def test_without_the_slack_app_the_page_shows_no_code(accounts: Accounts) -> None:
    """No Slack app configured: no code to type anywhere."""
    signed_in(accounts)
    assert "/subscribe link" not in accounts.http.get("/account").text

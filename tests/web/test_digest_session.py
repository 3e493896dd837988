"""A reader signed in to the account pages opens their digest pages and archive without
a link, and gives feedback there (the page's CSRF token still required); signed in as
someone else, they open none of them."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

from sqlalchemy import Engine

from alertbot.deliver import queue_due
from alertbot.store import archive
from alertbot.store.feedback import get_feedback
from alertbot.store.outbox import OutboxRow
from alertbot.store.papers import upsert_papers
from tests.helpers.digests import form_fields, listed_papers, papers
from tests.helpers.web import Accounts, accounts_app


def queued_for(acc: Accounts, subscriber_id: int) -> OutboxRow:
    (row,) = archive.reader_rows(acc.engine, subscriber_id, limit=5)
    return row


def test_a_signed_in_reader_needs_no_link(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Ada, signed in: /digest/<id> and /digests open with no token, the page's form
    records her verdict; Bob, signed in on the same browser next, gets a 403 on Ada's
    digest and an archive without it."""
    with accounts_app(sqlite_engine, tmp_path) as acc:
        ada = acc.sign_up("ada@example.org", "diffusion")
        bob = acc.sign_up("bob@example.org", "diffusion")
        upsert_papers(acc.engine, papers(4), source="test", now=acc.clock() - timedelta(hours=1))
        queue_due(acc.engine, acc.settings, now=acc.clock())
        ada_row, bob_row = queued_for(acc, ada.id), queued_for(acc, bob.id)
        assert acc.http.get(f"/digest/{ada_row.id}").status_code == 403  # not signed in
        assert acc.sign_in("ada@example.org").status_code == 303
        page = acc.http.get(f"/digest/{ada_row.id}")
        assert page.status_code == 200
        assert listed_papers(page.text) == [m.paper_id for m in ada_row.matches()]
        action, fields = form_fields(page.text, ada_row.paper_ids[0])
        # Signed in, the session cookie goes with any POST: the form's token is what
        # tells her own page from another site's form.
        for csrf in ("", acc.csrf("/account"), "forged.token"):
            forged = {**fields, "csrf": csrf, "value": "not_useful"}
            assert acc.http.post(action, data=forged).status_code == 403
        assert get_feedback(acc.engine, ada.id) == {}
        done = acc.http.post(action, data={**fields, "value": "useful"}, follow_redirects=False)
        assert done.status_code == 303
        assert get_feedback(acc.engine, ada.id) == {ada_row.paper_ids[0]: "useful"}
        archive_page = acc.http.get("/digests")
        assert archive_page.status_code == 200
        links = [
            unescape(u) for u in re.findall(r'<li><a href="(/digest/[^"]*)"', archive_page.text)
        ]
        assert [u.split("?", 1)[0] for u in links] == [f"/digest/{ada_row.id}"]
        assert acc.sign_in("bob@example.org").status_code == 303
        assert acc.http.get(f"/digest/{ada_row.id}").status_code == 403
        assert acc.http.post(action, data={**fields, "value": "not_useful"}).status_code == 403
        assert f"/digest/{ada_row.id}" not in acc.http.get("/digests").text
        assert acc.http.get(f"/digest/{bob_row.id}").status_code == 200
    assert get_feedback(sqlite_engine, ada.id) == {ada_row.paper_ids[0]: "useful"}


def test_the_account_pages_link_the_archive_once_signed_in(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """Signed in, every account page's header links "Past digests"; signed out, none does."""
    with accounts_app(sqlite_engine, tmp_path) as acc:
        acc.sign_up("ada@example.org", "diffusion")
        assert 'href="/digests"' not in acc.http.get("/signin").text
        assert acc.sign_in("ada@example.org").status_code == 303
        page = acc.http.get("/account")
        assert re.search(r'<a href="/digests">Past digests</a>', page.text)
        assert acc.http.get("/digests").status_code == 200

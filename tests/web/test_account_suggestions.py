"""The account page lists what the reader's verdicts suggest, each accepted by one press
(a POST with the page's CSRF token) as an ordinary interest or exclusion."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

from sqlalchemy import Engine

from alertbot.match import validate_profile
from alertbot.store import subscribers as store
from alertbot.store.feedback import record_feedback
from alertbot.store.papers import upsert_papers
from tests.helpers.learning import among_others, liked_decoding
from tests.helpers.web import Accounts, accounts_app

SUGGESTION = re.compile(
    r'<form method="post" action="/account/suggestion".*?name="kind" value="([^"]*)".*?'
    r'name="query" value="([^"]*)"',
    re.S,
)


def judged_reader(acc: Accounts) -> int:
    """Ada, signed in, who found the decoding papers useful and the surveys not."""
    papers = among_others()
    upsert_papers(acc.engine, papers, source="test", now=acc.clock() - timedelta(hours=1))
    ada = acc.sign_up("ada@example.org", '"language model"')
    for pid, value in liked_decoding(papers).items():
        record_feedback(acc.engine, ada.id, pid, value, now=acc.clock(), channel="web")
    assert acc.sign_in("ada@example.org").status_code == 303
    return ada.id


def offered(acc: Accounts) -> list[tuple[str, str]]:
    page = acc.http.get("/account")
    assert page.status_code == 200
    return [(kind, unescape(query)) for kind, query in SUGGESTION.findall(page.text)]


def test_the_page_offers_what_the_verdicts_separate(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Useful decoding papers and not-useful surveys: the page offers the phrase to add
    and survey to exclude, the same as the subscriber service gives."""
    with accounts_app(sqlite_engine, tmp_path) as acc:
        judged_reader(acc)
        found = offered(acc)
        assert ("interest", '"speculative decoding"') in found
        assert ("exclusion", "survey") in found


def test_one_press_adds_it_as_an_ordinary_query(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Pressing "Exclude survey" makes it an exclusion that parses, and the page stops
    offering it; a reader with no verdicts is offered nothing."""
    with accounts_app(sqlite_engine, tmp_path) as acc:
        sid = judged_reader(acc)
        done = acc.post(
            "/account/suggestion", {"kind": "exclusion", "query": "survey"}, csrf_from="/account"
        )
        assert (done.status_code, done.headers["location"]) == (303, "/account?done=added")
        sub = store.get_subscriber(acc.engine, sid)
        assert sub is not None
        assert sub.profile.exclusions == ("survey",)
        validate_profile(sub.profile)
        assert ("exclusion", "survey") not in offered(acc)
        acc.sign_up("bob@example.org", "diffusion")
        assert acc.sign_in("bob@example.org").status_code == 303
        assert offered(acc) == []

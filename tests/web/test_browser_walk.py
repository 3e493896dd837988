"""A reader's whole way through the account pages in a real Chromium, on the app
``alertbot run`` serves, with its emails read from a real aiosmtpd sink; and every page
at a phone's width (390 px) and a laptop's (1280 px), pictured for the README when
``ALERTBOT_SCREENSHOTS=1``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import Engine
from starlette.types import ASGIApp

from alertbot.config import Settings
from alertbot.deliver.queue import queue_due
from alertbot.deliver.worker import send_due
from alertbot.model import Profile, Subscriber
from alertbot.store.feedback import get_feedback
from alertbot.subscribers import SubscriberService
from alertbot.web.preview import Previewer
from tests.helpers.browser import (
    PHONE,
    WIDTHS,
    assert_no_horizontal_overflow,
    live_server,
    screenshot,
    service_app,
    set_width,
    wait_for,
)
from tests.helpers.slack import Clock, make_settings
from tests.helpers.web import link_in, store_sample_papers
from tests.servers import SmtpSink, smtp_server

FIRST = "language model*"
TYPO = "reinforcement learning OR"  # OR needs a term after it, at column 24
FIXED = "reinforcement learning OR diffusion"


@dataclass
class Live:
    base: str
    engine: Engine
    settings: Settings
    clock: Clock
    sink: SmtpSink

    def mail(self, number: int) -> EmailMessage:
        """The ``number``-th email the sink received (1-based), waiting for it."""
        return self.sink.wait_for(number)[number - 1]


@pytest.fixture
def live(sqlite_engine: Engine, tmp_path: Path) -> Iterator[Live]:
    """The service app on a loopback port, public_url pointing at it, mail to a sink."""
    with smtp_server() as sink:
        clock = Clock()
        made: dict[str, Settings] = {}

        def build(base: str) -> ASGIApp:
            made["settings"] = make_settings(
                str(tmp_path / "data"),
                "http://127.0.0.1:9/api/",
                web={"public_url": base},
                smtp={"host": sink.host, "port": sink.port, "security": "none"},
                slack={"signing_secret": None, "bot_token": None},
            )
            return service_app(sqlite_engine, made["settings"], now=clock)

        with live_server(build=build) as base:
            yield Live(base, sqlite_engine, made["settings"], clock, sink)


def fill(driver: WebDriver, selector: str, text: str) -> None:
    field = driver.find_element(By.CSS_SELECTOR, selector)
    field.clear()
    field.send_keys(text)


def press(driver: WebDriver, selector: str) -> None:
    driver.find_element(By.CSS_SELECTOR, selector).click()


def body(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def preview_total(driver: WebDriver) -> int | None:
    found = driver.find_elements(By.CSS_SELECTOR, "#preview-count")
    return int(found[0].get_attribute("data-total") or "0") if found else None


def subscriber(live: Live) -> Subscriber:
    """Ada, as the store has her now."""
    service = SubscriberService(live.engine, live.settings, now=live.clock)
    owner = service.email_owner("ada@example.org")
    assert owner is not None
    found = service.get(owner[0])
    assert found is not None
    return found


def test_a_reader_signs_up_tunes_interests_gets_a_digest_and_leaves(
    live: Live, browser: WebDriver
) -> None:
    """Sign up, confirm from the email, sign in by link, add an interest with a typo
    (error at its column), fix it (the preview count changes), set the send time, get a
    digest, open its "see all" page from the email, give feedback there, unsubscribe."""
    store_sample_papers(live.engine, live.clock())
    b = browser

    # Sign up: the zone comes from the browser (JavaScript), the rest from the form.
    b.get(f"{live.base}/signup")
    assert b.find_element(By.ID, "timezone").get_attribute("value")
    fill(b, "input[name=email]", "ada@example.org")
    fill(b, "#signup-interest", FIRST)
    press(b, "form[action='/signup'] button[type=submit]")
    wait_for(b, lambda d: "Check your email" in body(d))

    # The confirmation email, from the real SMTP sink: open it, press the button.
    b.get(link_in(live.mail(1)))
    press(b, "form button[type=submit]")
    wait_for(b, lambda d: "Address confirmed" in body(d))

    # Sign in by emailed link.
    b.get(f"{live.base}/signin")
    fill(b, "input[name=email]", "ada@example.org")
    press(b, "form[action='/signin'] button[type=submit]")
    wait_for(b, lambda d: "Check your email" in body(d))
    link = link_in(live.mail(2))
    assert "/signin/link?token=" in link
    b.get(link)
    press(b, "main form button[type=submit]")
    wait_for(b, lambda d: d.current_url.endswith("/account"))
    field = b.find_element(By.CSS_SELECTOR, "input[data-draft-kind=interest]")
    assert field.get_attribute("value") == FIRST
    first_total = wait_for(b, preview_total)

    # A typo in a new interest: the preview says where, as you type.
    fill(b, "#new-query", TYPO)
    error = wait_for(b, lambda d: d.find_element(By.ID, "preview-error"))
    column = len(TYPO) - 1  # where the dangling OR starts
    assert error.get_attribute("data-column") == str(column)
    assert f"at column {column}" in error.text
    beside = b.find_element(By.ID, "draft-error")  # and under the field itself
    wait_for(b, lambda d: f"at column {column}" in beside.text)

    # Fixed: the count changes to what the profile with both interests matches.
    fill(b, "#new-query", FIXED)
    sub = subscriber(live)
    previewer = Previewer(live.engine, live.settings, now=live.clock)
    expected = previewer.preview(sub, Profile((FIRST, FIXED))).total
    assert expected != first_total
    wait_for(b, lambda d: preview_total(d) == expected)
    press(b, "#add-query button[type=submit]:not([formaction])")
    wait_for(b, lambda d: "Added." in body(d))
    assert subscriber(live).profile.interests == (FIRST, FIXED)

    # The send time: the start of the app clock's hour, so today's digest is due now.
    due = live.clock().astimezone(ZoneInfo(sub.timezone)).replace(minute=0)
    b.execute_script(
        "document.getElementById('send-time').value = arguments[0]", due.strftime("%H:%M")
    )
    press(b, "form[action='/account/schedule'] button[type=submit]")
    wait_for(b, lambda d: "Schedule saved." in body(d))
    assert subscriber(live).send_time == time(due.hour, 0)

    # A digest, queued and sent by the real functions, arrives at the sink.
    assert queue_due(live.engine, live.settings, now=live.clock()) == 1
    report = send_due(live.engine, live.settings, now=live.clock)
    assert len(report.deliveries) == 1
    text = live.mail(3).get_body(("plain",))
    assert text is not None
    content = text.get_content()
    # The digest's own page ("This digest in your browser"): every match, the cap's
    # leftovers too, as many as the preview promised; feedback on one paper there.
    page = re.search(r"This digest in your browser: (\S+)", content)
    assert page is not None, content
    b.get(page.group(1))
    lead = b.find_element(By.CSS_SELECTOR, "p.lead").text
    assert lead.startswith(f"{expected} papers matched")
    first = b.find_element(By.CSS_SELECTOR, "main section")
    first.find_element(By.CSS_SELECTOR, "button[value=useful]").click()
    wait_for(b, lambda d: get_feedback(live.engine, sub.id))
    assert list(get_feedback(live.engine, sub.id).values()) == ["useful"]

    # Unsubscribe from the account page: everything stops and the session is over.
    b.get(f"{live.base}/account")
    press(b, "#unsubscribe")
    wait_for(b, lambda d: "Unsubscribed" in body(d))
    after = subscriber(live)
    assert after.active is False
    assert not any(e.active for e in after.endpoints)
    b.get(f"{live.base}/account")
    wait_for(b, lambda d: d.current_url.endswith("/signin"))


def test_every_page_fits_a_phone_and_a_laptop(live: Live, browser: WebDriver) -> None:
    """Each account page, at 390 and 1280 px, scrolls only down: never sideways (and is
    pictured as templates/web/screenshots/NAME-WIDTH.png when ALERTBOT_SCREENSHOTS=1)."""
    store_sample_papers(live.engine, live.clock())
    b = browser
    shown: list[str] = []

    def check(name: str) -> None:
        # A new width lays the page out again; no reload (some pages answer a POST).
        for width in WIDTHS:
            set_width(b, width)
            if width == PHONE:
                assert_no_horizontal_overflow(b)
            screenshot(b, name)
        shown.append(name)

    b.get(f"{live.base}/signup")
    check("signup")
    fill(b, "input[name=email]", "eve@example.org")
    fill(b, "#signup-interest", '"graph neural networks')
    press(b, "form[action='/signup'] button[type=submit]")
    wait_for(b, lambda d: "unclosed quote" in body(d))
    check("signup-error")
    b.get(f"{live.base}/signin")
    check("signin")
    b.get(f"{live.base}/signup")
    fill(b, "input[name=email]", "ada@example.org")
    fill(b, "#signup-interest", "learning")
    press(b, "form[action='/signup'] button[type=submit]")
    wait_for(b, lambda d: "Check your email" in body(d))
    b.get(link_in(live.mail(1)))
    press(b, "form button[type=submit]")
    wait_for(b, lambda d: "Address confirmed" in body(d))
    b.get(f"{live.base}/signin")
    fill(b, "input[name=email]", "ada@example.org")
    press(b, "form[action='/signin'] button[type=submit]")
    wait_for(b, lambda d: "Check your email" in body(d))
    check("check-email")
    b.get(link_in(live.mail(2)))
    check("signin-link")
    press(b, "main form button[type=submit]")
    wait_for(b, lambda d: (preview_total(d) or 0) > 20)
    check("account")
    fill(b, "#new-query", '"reinforcement learning" OR')
    wait_for(b, lambda d: d.find_element(By.ID, "preview-error"))
    check("account-typo")
    b.get(f"{live.base}/signin/link?token=expired")
    check("signin-link-refused")
    b.get(f"{live.base}/account")
    press(b, "#unsubscribe")
    wait_for(b, lambda d: "Unsubscribed" in body(d))
    check("goodbye")
    assert len(shown) == 9

"""The digest page and the archive in a real Chromium: they fit a 390 px phone, and a
click on "Useful" records the verdict once, with JavaScript and without it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select

from alertbot.deliver import send_due
from alertbot.deliver.file import FileChannel
from alertbot.links import archive_url
from alertbot.model import EndpointKind, Paper
from alertbot.store.outbox import OutboxRow
from alertbot.store.schema import feedback as feedback_table
from tests.helpers.browser import (
    WIDTHS,
    assert_no_horizontal_overflow,
    live_server,
    screenshot,
    service_app,
    set_width,
    wait_for,
)
from tests.helpers.digests import page_link, papers, queued
from tests.helpers.slack import World


def stocked() -> list[Paper]:
    """Twelve diffusion papers, one with an unbreakable 160-character word in its title
    and a long link (what makes a careless page overflow on a phone)."""
    found = papers(12)
    found[1] = replace(
        found[1],
        title="Diffusion " + "Supercalifragilistic" * 8 + " models",
        url="https://example.org/" + "very-long-path/" * 12,
    )
    return found


def path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def verdicts(world: World) -> list[tuple[str, str, str]]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(feedback_table.c.paper_id, feedback_table.c.value, feedback_table.c.channel)
        )
        return [tuple(r) for r in rows]


def digest(world: World, tmp_path: Path) -> OutboxRow:
    """Ada's digest, queued and sent (into a folder, as the file channel does)."""
    row = queued(world, stocked(), {"ada": ("diffusion",)}, cap=3)["ada"]
    channel = FileChannel(tmp_path / "sent", from_address="alertbot@example.org")
    report = send_due(
        world.engine, world.settings, now=world.clock, channels={EndpointKind.EMAIL: channel}
    )
    assert report.counts() == {"sent": 1}
    return row


@pytest.mark.parametrize("width", WIDTHS)
def test_the_digest_page_and_archive_fit_the_screen(
    world: World, browser: WebDriver, width: int, tmp_path: Path
) -> None:
    """At 1280 and 390 px the digest page (all 12 papers) and the archive scroll only
    down, never sideways."""
    row = digest(world, tmp_path)
    with live_server(service_app(world.engine, world.settings, now=world.clock)) as base:
        set_width(browser, width)
        browser.get(base + path(page_link(world, row)))
        assert len(browser.find_elements(By.CSS_SELECTOR, "form.feedback")) == 12
        assert_no_horizontal_overflow(browser)
        screenshot(browser, "digest")
        browser.get(base + path(archive_url(world.settings, row.subscriber_id)))
        assert "Your past digests" in browser.find_element(By.TAG_NAME, "body").text
        assert_no_horizontal_overflow(browser)
        screenshot(browser, "digests")


def test_a_click_records_the_verdict_in_the_background_once(
    world: World, browser: WebDriver, tmp_path: Path
) -> None:
    """With JavaScript: a double click on "Useful" of a paper beyond the cap stays on the
    page, presses the button and stores one verdict."""
    row = digest(world, tmp_path)
    beyond = row.rest()[0].paper_id
    with live_server(service_app(world.engine, world.settings, now=world.clock)) as base:
        browser.get(base + path(page_link(world, row)))
        url = browser.current_url
        button = browser.find_element(
            By.CSS_SELECTOR, f'section[id="p-{beyond}"] button[value="useful"]'
        )
        button.click()
        button.click()
        wait_for(browser, lambda d: button.get_attribute("aria-pressed") == "true")
        status = browser.find_element(By.CSS_SELECTOR, f'section[id="p-{beyond}"] .status')
        wait_for(browser, lambda d: status.text == "Recorded")
        assert browser.current_url == url
    assert verdicts(world) == [(beyond, "useful", "web")]


def test_without_javascript_the_form_posts_and_comes_back(
    world: World, browser: WebDriver, tmp_path: Path
) -> None:
    """With scripts off, "Not useful" posts the form and the page comes back at that
    paper with the verdict pressed."""
    row = digest(world, tmp_path)
    beyond = row.rest()[1].paper_id
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        with live_server(service_app(world.engine, world.settings, now=world.clock)) as base:
            browser.get(base + path(page_link(world, row)))
            selector = f'section[id="p-{beyond}"] button[value="not_useful"]'
            browser.find_element(By.CSS_SELECTOR, selector).click()
            wait_for(browser, lambda d: d.current_url.endswith(f"#p-{beyond}"))
            pressed = browser.find_element(By.CSS_SELECTOR, selector)
            assert pressed.get_attribute("aria-pressed") == "true"
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    assert verdicts(world) == [(beyond, "not_useful", "web")]

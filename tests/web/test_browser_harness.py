"""The browser harness itself: a real Chromium on the real app, and an overflow check
that fails on a page wider than a phone."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.helpers.browser import (
    PHONE,
    WIDTHS,
    assert_no_horizontal_overflow,
    live_server,
    page_overflow,
    screenshot,
    service_app,
    set_width,
)
from tests.helpers.slack import World


@pytest.mark.parametrize("width", WIDTHS)
def test_it_opens_a_page_of_the_service_app_in_chromium(
    world: World, browser: WebDriver, width: int
) -> None:
    """The app alertbot run serves answers a real browser on a loopback port, and its
    refusal page fits the screen at each width."""
    app = service_app(world.engine, world.settings, now=world.clock)
    with live_server(app) as base:
        set_width(browser, width)
        browser.get(f"{base}/unsubscribe?token=forged")
        assert "not valid" in browser.find_element(By.TAG_NAME, "body").text
        assert browser.execute_script("return window.innerWidth") == width
        assert_no_horizontal_overflow(browser)
        screenshot(browser, "refused")


def _wide(request: Request) -> HTMLResponse:
    return HTMLResponse('<!doctype html><body><div style="width:600px">wide</div></body>')


def test_it_fails_a_page_wider_than_a_phone(browser: WebDriver) -> None:
    """A 600 px block on a 390 px screen is reported, naming what sticks out."""
    with live_server(Starlette(routes=[Route("/", _wide)])) as base:
        set_width(browser, PHONE)
        browser.get(f"{base}/")
        assert page_overflow(browser) > 0
        with pytest.raises(AssertionError, match="wider than its 390 px viewport"):
            assert_no_horizontal_overflow(browser)

"""Fixtures of the web tests: one headless Chromium for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.helpers.browser import DESKTOP, chromium_driver, set_width


@pytest.fixture(scope="session")
def _chromium() -> Iterator[WebDriver]:
    # One browser for the session: starting Chromium takes about a second.
    with chromium_driver(DESKTOP) as driver:
        yield driver


@pytest.fixture
def browser(_chromium: WebDriver) -> WebDriver:
    """The session's Chromium, 1280 px wide, with no cookies from other tests (skipped,
    with the reason, where Chromium or chromedriver is not installed)."""
    _chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    _chromium.get("about:blank")
    set_width(_chromium, DESKTOP)
    return _chromium

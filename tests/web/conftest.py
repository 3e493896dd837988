"""Fixtures of the web tests: one headless Chromium for the whole session, and the
account pages on a real SQLite file with a real SMTP sink."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import Engine

from tests.helpers.browser import DESKTOP, chromium_driver, set_width
from tests.helpers.web import Accounts, accounts_app


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


@pytest.fixture
def accounts(sqlite_engine: Engine, tmp_path: Path) -> Iterator[Accounts]:
    """The service app (account pages included) on a real SQLite file, mailing a real
    aiosmtpd sink."""
    with accounts_app(sqlite_engine, tmp_path) as app:
        yield app

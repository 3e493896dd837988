"""A real browser on the real app: Debian's Chromium driven by Selenium, and the app
served by uvicorn on a loopback port, as ``alertbot run`` serves it.

Nothing here downloads a browser or a driver: Selenium is given the ``chromedriver`` and
``chromium`` found on ``PATH`` (Debian's ``chromium`` and ``chromium-driver`` packages,
which ``.ci/run`` installs), and a ``Service`` with an explicit path never starts
Selenium Manager. Where either is missing, :func:`chromium_driver` skips the test and
says which.

``ALERTBOT_SCREENSHOTS=1`` makes :func:`screenshot` write
``templates/web/screenshots/NAME-WIDTH.png`` (the pictures the README shows); without
it, screenshots cost nothing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.types import ASGIApp

from alertbot.config import Settings
from alertbot.schedule.health import HealthState
from alertbot.service import extra_routes
from alertbot.web.app import create_app
from tests.helpers import REPO

# The two widths every page is checked and pictured at: a laptop and a phone.
DESKTOP = 1280
PHONE = 390
WIDTHS = (DESKTOP, PHONE)
WINDOW_HEIGHT = 900
SCREENSHOTS = REPO / "templates" / "web" / "screenshots"
SCREENSHOTS_VARIABLE = "ALERTBOT_SCREENSHOTS"
MAX_SHOT_HEIGHT = 1800  # a long page is pictured from its top: the pictures stay small
# Read once at import: the autouse fixture in tests/conftest.py drops ALERTBOT_* from the
# environment before each test runs.
_TAKE_SCREENSHOTS = os.environ.get(SCREENSHOTS_VARIABLE) == "1"


def browser_missing() -> str | None:
    """None if Chromium and its driver are installed, else what is missing (the skip reason)."""
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if not missing:
        return None
    return (
        f"no {' or '.join(missing)} on PATH "
        "(apt-get install chromium chromium-driver; .ci/run does it)"
    )


def chrome_options(width: int = DESKTOP) -> webdriver.ChromeOptions:
    """Headless Chromium at ``width``, with nothing that talks to the network on its own."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in (
        "--headless=new",
        f"--window-size={width},{WINDOW_HEIGHT}",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",  # a scrollbar's width would make every page "overflow"
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    return options


@contextmanager
def chromium_driver(width: int = DESKTOP) -> Iterator[WebDriver]:
    """A headless Chromium at ``width`` px; skips the test (saying why) without a browser."""
    reason = browser_missing()
    if reason is not None:
        pytest.skip(reason)
    # An explicit driver path: Selenium Manager (which would download one) never runs.
    service = Service(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(service=service, options=chrome_options(width))
    driver.set_page_load_timeout(30)
    try:
        set_width(driver, width)
        yield driver
    finally:
        driver.quit()


def set_width(driver: WebDriver, width: int, height: int = WINDOW_HEIGHT) -> None:
    """Make the page's viewport exactly ``width`` x ``height`` CSS px (what a phone or a
    laptop shows), whatever the window around it: Chromium's device-metrics override,
    so the overflow check is about the page, not about window decorations."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def page_overflow(driver: WebDriver) -> int:
    """How many CSS px the page is wider than the viewport (0: it fits)."""
    scroll, inner = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    return max(0, int(scroll) - int(inner))


def assert_no_horizontal_overflow(driver: WebDriver) -> None:
    """The page fits its viewport: ``document.scrollWidth <= innerWidth`` (no sideways
    scrolling on a 390 px phone)."""
    overflow = page_overflow(driver)
    if overflow:
        widest = driver.execute_script(
            """
            const w = window.innerWidth;
            const out = [];
            for (const el of document.body.querySelectorAll('*')) {
              const r = el.getBoundingClientRect();
              if (r.right > w + 0.5) out.push(el.tagName.toLowerCase() +
                (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : ''));
            }
            return out.slice(0, 5);
            """
        )
        raise AssertionError(
            f"{driver.current_url} is {overflow} px wider than its "
            f"{driver.execute_script('return window.innerWidth')} px viewport; "
            f"too wide: {', '.join(widest)}"
        )


def screenshot(driver: WebDriver, name: str) -> Path | None:
    """Write ``templates/web/screenshots/NAME-WIDTH.png`` when ``ALERTBOT_SCREENSHOTS=1``
    (the viewport's width, the page's height up to :data:`MAX_SHOT_HEIGHT`); returns the
    path, or None when off."""
    if not _TAKE_SCREENSHOTS:
        return None
    width = int(driver.execute_script("return window.innerWidth"))
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    set_width(driver, width, min(max(height, 200), MAX_SHOT_HEIGHT))
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}-{width}.png"
        driver.save_screenshot(str(path))
    finally:
        set_width(driver, width)
    return path


def wait_for(driver: WebDriver, predicate: Callable[[WebDriver], Any], timeout: float = 10) -> Any:
    """Poll ``predicate(driver)`` until it is truthy (what the page's JavaScript does
    happens after the event); returns its value."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate(driver)
        except Exception as exc:  # an element not there yet is a normal "not yet"
            last_error = exc
        else:
            if value:
                return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met in {timeout} s on {driver.current_url}: {last_error}")


# -- the app, served -------------------------------------------------------------------


def service_app(engine: Engine, settings: Settings, *, now: Callable[[], datetime]) -> Starlette:
    """The app ``alertbot run`` serves (:func:`alertbot.service.extra_routes` on
    :func:`alertbot.web.app.create_app`), with an injected clock."""
    return create_app(
        engine,
        settings,
        now=now,
        health=HealthState(started_at=now()),
        routes=extra_routes(engine, settings, now=now),
    )


@contextmanager
def live_server(
    app: ASGIApp | None = None, *, build: Callable[[str], ASGIApp] | None = None
) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its base
    URL (``http://127.0.0.1:PORT``) once it accepts connections. ``build`` instead makes
    the app from that URL (for settings whose ``web.public_url`` must be it: the links
    in emails)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    if build is not None:
        app = build(f"http://127.0.0.1:{port}")
    if app is None:
        sock.close()
        raise TypeError("give the app or a build function")
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    # uvicorn installs signal handlers only on the main thread; this one is not.
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="live-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

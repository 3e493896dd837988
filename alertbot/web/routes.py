"""The subscriber's web account, as one list of routes for :func:`alertbot.web.app.create_app`:
sign-up, sign-in, ``/account`` with its preview, and the pages' stylesheet and script."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from alertbot.config import Settings
from alertbot.web.account import account_routes
from alertbot.web.assets import asset_routes
from alertbot.web.signin import signin_routes
from alertbot.web.signup import signup_routes
from alertbot.web.site import Site


def home(request: Request) -> Response:
    # Signed in or not, /account knows where to go next (it sends strangers to /signin).
    return RedirectResponse("/account", status_code=303)


def account_site_routes(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    templates_dir: Path | None = None,
    site: Site | None = None,
) -> list[BaseRoute]:
    """Every route of the account pages (``site`` stands in for tests' own senders)."""
    site = site or Site.build(engine, settings, now=now, templates_dir=templates_dir)
    return [
        Route("/", home, methods=["GET"]),
        *signup_routes(site),
        *signin_routes(site),
        *account_routes(site),
        *asset_routes(templates_dir),
    ]

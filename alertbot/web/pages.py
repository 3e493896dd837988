"""The HTML pages that signed links open: one Jinja2 environment, strict headers."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2
from starlette.responses import HTMLResponse, Response

from alertbot.render.templates import find_templates
from alertbot.web.headers import page_headers, site_headers

MAX_TOKEN_CHARS = 1000


@functools.lru_cache(maxsize=4)
def _environment(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir / "web"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


class Pages:
    """Renders ``templates/web/*.html`` with their headers (:mod:`alertbot.web.headers`)."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        self.env = _environment(templates_dir or find_templates())

    def render(self, name: str, status: int = 200, **context: Any) -> Response:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=page_headers(html))

    def site(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """An account page (``site.html`` and its children): stylesheet and script from
        ``/assets``, under :data:`~alertbot.web.headers.SITE_POLICY`."""
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=site_headers())

    def refused(self, message: str) -> Response:
        return self.render("refused.html", 400, message=message)

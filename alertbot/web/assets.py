"""``/assets/site.css`` and ``/assets/account.js``: the account pages' only stylesheet
and script, from ``templates/web/`` (no CDN: a page opened from an email calls nobody
else, and the tests run offline)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alertbot.render.templates import find_templates

ASSETS = {"site.css": "text/css; charset=utf-8", "account.js": "text/javascript; charset=utf-8"}


def asset_routes(templates_dir: Path | None = None) -> list[BaseRoute]:
    """``GET /assets/{name}`` for the files in :data:`ASSETS`, read once."""
    folder = find_templates(templates_dir) / "web"
    files = {name: (folder / name).read_bytes() for name in ASSETS}

    def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(
            files[name],
            media_type=ASSETS[name],
            # The page headers say no-store; assets may be kept (they change with a release).
            headers={"Cache-Control": "public, max-age=3600"},
        )

    return [Route("/assets/{name}", asset, methods=["GET"])]

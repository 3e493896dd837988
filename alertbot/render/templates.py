"""Where the templates are, and the one Jinja2 environment setup every renderer uses.

The templates live in the top-level ``templates/`` folder and are found, in order: the
``templates_dir`` argument; the ``alertbot.templates`` package (how a wheel ships them);
``templates/`` next to the package (a checkout).
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

import jinja2

import alertbot


def find_templates(templates_dir: Path | None = None) -> Path:
    """The templates folder: the argument, the installed package, or the checkout's."""
    if templates_dir is not None:
        return templates_dir
    if importlib.util.find_spec("alertbot.templates") is not None:
        installed = Path(str(importlib.resources.files("alertbot.templates")))
        if (installed / "email").is_dir():
            return installed
    return Path(alertbot.__file__).resolve().parent.parent / "templates"


def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """A Jinja2 environment over the templates: HTML autoescaped, undefined names fatal."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(find_templates(templates_dir)),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

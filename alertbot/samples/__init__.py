"""Listing dumps shipped with alertbot, so the demo runs on a machine with no sources."""

from __future__ import annotations

import importlib.util
from importlib.resources import files
from pathlib import Path

SAMPLE_DUMPS: tuple[str, ...] = ("hf-papers-blocks.txt", "hf-papers-lines.txt")


def sample_dump_paths() -> list[Path]:
    """Paths of the bundled sample dumps (the package is installed unzipped)."""
    package = files(__name__)
    return [Path(str(package / name)) for name in SAMPLE_DUMPS]


EXAMPLES = ("alertbot", "subscribers")


def example_text(name: str) -> str:
    """The commented example ``config/NAME.example.toml``, as shipped in the package.

    pip installs config/ as ``alertbot.examples`` (see pyproject.toml), so a user without
    a clone has the examples too: ``alertbot config example``.
    """
    if name not in EXAMPLES:
        raise ValueError(f"no example {name!r}")
    filename = f"{name}.example.toml"
    if importlib.util.find_spec("alertbot.examples") is not None:
        installed = files("alertbot.examples") / filename
        if installed.is_file():
            return installed.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "config" / filename
    return checkout.read_text(encoding="utf-8")

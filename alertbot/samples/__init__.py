"""Listing dumps shipped with alertbot, so the demo runs on a machine with no sources."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SAMPLE_DUMPS: tuple[str, ...] = ("hf-papers-blocks.txt", "hf-papers-lines.txt")


def sample_dump_paths() -> list[Path]:
    """Paths of the bundled sample dumps (the package is installed unzipped)."""
    package = files(__name__)
    return [Path(str(package / name)) for name in SAMPLE_DUMPS]

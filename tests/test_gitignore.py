"""A clone stays clean after the README's walk-through: what it creates is ignored."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.helpers import REPO

# Every file or folder the README's Quick start and "From the demo to real digests"
# steps create in the working folder.
CREATED = [
    "alertbot-demo/outbox/ada.eml",
    "alertbot-data/alertbot.sqlite3",
    "alertbot-data/secret_key",
    "alertbot.toml",
    "subscribers.toml",
    "dumps/day.txt",
    "ada.html",
]


@pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout"
)
@pytest.mark.parametrize("path", CREATED)
def test_what_the_readme_creates_is_ignored(path: str) -> None:
    """`git check-ignore` matches each path the walk-through leaves behind."""
    result = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO, timeout=10, check=False)
    assert result.returncode == 0, f"{path} is not ignored"


def test_the_readme_walk_through_names_those_files() -> None:
    """The list above follows the README: each name in it appears there."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in ("alertbot-demo", "alertbot.toml", "subscribers.toml", "dumps", "ada.html"):
        assert name in readme, name

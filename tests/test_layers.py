"""Imports point one way: the layering contract (import-linter) holds and covers the tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.helpers import REPO

ROOT = REPO
PACKAGE = ROOT / "alertbot"


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    return [name.strip() for line in layers for name in line.split("|")]


def test_the_import_contracts_are_kept() -> None:
    """lint-imports finds no import against the layers or into the pure core."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run(
        [exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_every_module_has_a_layer() -> None:
    """Each top-level module and package of alertbot (and each part of schedule/, which
    spans layers) is named in the layers, so nothing new escapes the contract."""
    named = set(_layers())
    found = {
        f"alertbot.{p.stem if p.is_file() else p.name}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
        or (p.is_dir() and (p / "__init__.py").exists() and p.name != "schedule")
    }
    found |= {
        f"alertbot.schedule.{p.stem}"
        for p in (PACKAGE / "schedule").glob("*.py")
        if p.stem != "__init__"
    }
    assert found - named == set()


def test_every_command_module_is_in_the_independence_contract() -> None:
    """Each cli/*_cmd.py is listed, so no command module can import another (a cycle)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (independent,) = [c["modules"] for c in contracts if c["type"] == "independence"]
    found = {f"alertbot.cli.{p.stem}" for p in (PACKAGE / "cli").glob("*_cmd.py")}
    assert found
    assert found == set(independent)

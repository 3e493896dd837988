"""The package as pip installs it carries every module, template and sample."""

from __future__ import annotations

import tomllib

from tests.helpers import REPO

ROOT = REPO


def test_it_lists_every_subpackage_in_pyproject() -> None:
    """A new subpackage not listed in pyproject.toml would be missing from the wheel."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "alertbot").rglob("__init__.py")
    }
    assert on_disk <= listed
    assert "alertbot.templates" in listed


def test_it_ships_the_templates_folder_as_package_data() -> None:
    """Every file under templates/ matches the package-data pattern for alertbot.templates."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["alertbot.templates"]
    templates = ROOT / "templates"
    files = [p for p in templates.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert files
    for path in files:
        assert any(path.relative_to(templates).match(pattern) for pattern in patterns), path


def test_it_ships_the_example_files_for_a_pip_user() -> None:
    """config/*.example.toml are package data (alertbot.examples): `config example` works
    without a clone."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = config["tool"]["setuptools"]
    assert setuptools["package-dir"]["alertbot.examples"] == "config"
    patterns = setuptools["package-data"]["alertbot.examples"]
    examples = sorted((ROOT / "config").glob("*"))
    assert examples
    for path in examples:
        assert any(path.match(pattern) for pattern in patterns), path

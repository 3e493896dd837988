"""deploy/alertbot.service: systemd accepts it silently and rates it well hardened."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import cast

import pytest

from tests.helpers import REPO

DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "alertbot.service"
# (file in deploy/, the name systemd-analyze sees: a template needs an instance)
UNITS = [
    ("alertbot.service", "alertbot.service"),
    ("alertbot-worker@.service", "alertbot-worker@1.service"),
]
INSTALLED_BINARY = "/opt/alertbot/venv/bin/alertbot"

needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (.ci/run installs systemd)",
)


def directives(text: str) -> dict[str, list[str]]:
    """Key -> values of every ``Key=value`` line (keys may repeat)."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.fixture(params=UNITS, ids=[name for name, _ in UNITS])
def checkable_unit(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Each unit with ExecStart pointing at this checkout's alertbot, which exists here.

    `systemd-analyze verify` insists that ExecStart's binary exists; the venv under
    /opt/alertbot exists only on a real install, so only that path is rewritten.
    """
    source, name = cast(tuple[str, str], request.param)
    binary = shutil.which("alertbot")
    if binary is None:
        pytest.skip("the alertbot console script is not installed")
    text = (DEPLOY / source).read_text(encoding="utf-8")
    assert INSTALLED_BINARY in text
    unit = tmp_path / name
    unit.write_text(text.replace(INSTALLED_BINARY, binary), encoding="utf-8")
    return unit


def test_it_declares_what_the_service_relies_on() -> None:
    """The unit is a notify service with a watchdog, a dynamic user, state and credentials."""
    found = directives(UNIT.read_text(encoding="utf-8"))
    assert found["Type"] == ["notify"]
    assert found["Restart"] == ["on-failure"]
    assert found["DynamicUser"] == ["yes"]
    assert found["StateDirectory"] == ["alertbot"]
    assert "ALERTBOT_DATA_DIR=/var/lib/alertbot" in found["Environment"]
    assert found["ExecStart"] == [f"{INSTALLED_BINARY} run"]
    assert found["EnvironmentFile"][0].startswith("-")
    assert any(v.startswith("ALERTBOT_SMTP__PASSWORD:") for v in found["LoadCredential"])
    assert int(found["WatchdogSec"][0]) > 0
    # The service gives running jobs 60 s; systemd must wait longer before SIGKILL.
    assert int(found["TimeoutStopSec"][0]) > 60


def test_it_runs_extra_workers_without_the_scheduler() -> None:
    """The worker template runs `alertbot run --worker` and owns no state directory."""
    found = directives((DEPLOY / "alertbot-worker@.service").read_text(encoding="utf-8"))
    assert found["ExecStart"] == [f"{INSTALLED_BINARY} run --worker"]
    assert found["Type"] == ["notify"]
    assert "StateDirectory" not in found


@needs_systemd
def test_it_passes_systemd_analyze_verify_without_a_word(checkable_unit: Path) -> None:
    """`systemd-analyze verify` exits 0 and prints nothing on stderr (no unknown keys)."""
    result = subprocess.run(
        ["systemd-analyze", "verify", str(checkable_unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stderr == ""
    assert result.returncode == 0


@needs_systemd
def test_it_rates_an_overall_exposure_of_at_most_2(checkable_unit: Path) -> None:
    """`systemd-analyze security --offline=yes` rates the unit 2.0 or better."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(checkable_unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match is not None, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0

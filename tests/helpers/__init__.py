"""What tests share that is not a fixture: paths, builders, stand-in wiring.

Imported as ``tests.helpers...``; conftest modules hold only fixtures.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"

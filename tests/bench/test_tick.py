"""``alertbot bench tick``'s own rules: every due reader planned once per tick, by one
planner or several (figures are the bench's to print, not a test's to time)."""

from __future__ import annotations

import pytest

from alertbot.bench.tick import run_bench
from tests.conftest import POSTGRES_ADMIN_URL


def test_it_plans_every_reader_in_the_cold_and_the_daily_tick() -> None:
    """One planner on SQLite: each tick plans all 30 readers, the idle tick none, and the
    table names the cold and the daily tick."""
    result = run_bench(30, backend="sqlite", runs=2, workload="easy", baseline_sample=5)
    assert (result.queued, result.looked_at, result.idle_looked_at) == (30, 30, 0)
    measures = dict(result.rows())
    assert "tick, cold (the first after start: every profile compiled)" in measures
    assert measures["planners (processes ticking together)"] == "1"
    # each phase is shown for the daily tick and beside it for the cold (first) one,
    # whose phases are its own and fit inside its time
    assert measures["  phase match, daily / cold"] == (
        f"{result.phases['match']:.2f} s / {result.cold_phases['match']:.2f} s"
    )
    assert result.cold_phases["match"] > 0
    assert sum(result.cold_phases.values()) <= result.cold


@pytest.mark.postgres
def test_two_planner_processes_plan_each_digest_once(postgres_url: str) -> None:
    """Two planner processes on one PostgreSQL, ticking together twice: together they
    plan each of the 40 readers exactly once a tick (the unique key would refuse a
    second row; the planned count would show it)."""
    del postgres_url  # asked for its skip when no server runs; the bench makes its own
    result = run_bench(
        40, backend="postgres", postgres_url=POSTGRES_ADMIN_URL, runs=2, workload="easy",
        baseline_sample=5, planners=2,
    )  # fmt: skip
    assert (result.queued, result.looked_at, result.idle_looked_at) == (40, 40, 0)
    assert dict(result.rows())["planners (processes ticking together)"] == "2"

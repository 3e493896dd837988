"""``alertbot bench deliver``'s own rules: every queued digest is sent exactly once by
the workers together, and the baselines replay the digests sent (figures are the bench's
to print, not a test's to time)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from alertbot.bench.deliver import run_bench
from alertbot.bench.sink import replayed
from alertbot.cli import app
from tests.conftest import POSTGRES_ADMIN_URL


def test_two_workers_send_every_digest_once_and_the_baselines_replay_them() -> None:
    result = run_bench(16, workers=2)
    counts = [report.counts() for report in result.reports]
    assert sum(c.get("sent", 0) for c in counts) == 16
    assert all(set(c) <= {"sent"} for c in counts)  # nothing failed (a worker may get none)
    measures = dict(result.rows())
    assert measures["digests sent"] == "16 of 16"
    assert "baseline: raw smtplib, 2 connections at once, messages/s" in measures
    assert result.parallel_seconds is not None
    assert result.parallel_seconds > 0
    # The replayed messages are digests the workers sent, of about their average size.
    assert abs(result.baseline_bytes - result.message_bytes) < result.message_bytes / 4


def test_a_baseline_replays_the_sampled_messages_in_turn() -> None:
    assert replayed(5, [b"a", b"bb"]) == [b"a", b"bb", b"a", b"bb", b"a"]
    assert replayed(2, [b"a", b"bb", b"ccc"]) == [b"a", b"bb"]


def test_one_worker_has_no_parallel_baseline() -> None:
    result = run_bench(6, workers=1)
    assert dict(result.rows())["digests sent"] == "6 of 6"
    assert result.parallel_seconds is None
    assert not any("connections at once" in label for label, _ in result.rows())


@pytest.mark.postgres
def test_it_runs_on_postgresql(postgres_url: str) -> None:
    del postgres_url  # asked for its skip when no server runs; the bench makes its own
    result = run_bench(8, workers=2, backend="postgres", postgres_url=POSTGRES_ADMIN_URL)
    assert dict(result.rows())["sink / store"].endswith("/ postgres")
    assert sum(r.counts().get("sent", 0) for r in result.reports) == 8


def test_several_runs_print_each_measures_median_and_range() -> None:
    """``--runs 2``: every digest of both runs sent, each rate as "median (min-max)"."""
    result = CliRunner().invoke(
        app, ["bench", "deliver", "-n", "5", "-w", "1", "--runs", "2"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"runs \(each: queue, send, baselines\)\s*│\s*2\b", result.stdout)
    assert re.search(r"digests sent, all runs\s*│\s*10 of 10\b", result.stdout)
    found = re.search(r"digests/s, median \(min-max\)\s*│\s*(\d+) \((\d+)-(\d+)\)", result.stdout)
    assert found is not None, result.stdout
    median, low, high = map(int, found.groups())
    assert low <= median <= high

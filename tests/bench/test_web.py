"""``alertbot bench web``'s own rules: it previews what it says on the workload it says
(figures are the bench's to print, not a test's to time)."""

from __future__ import annotations

from alertbot.bench.web import Timing, run_bench
from tests.helpers.cli import run


def test_it_times_each_way_once_per_profile_on_the_papers_asked() -> None:
    """One sample per profile for the page's way and HTTP, the naive way on its sample."""
    result = run_bench(80, 6, naive_sample=2)
    assert (result.papers, result.profiles) == (80, 6)
    preview, http, naive = result.timings
    assert (len(preview.samples_ms), len(http.samples_ms), len(naive.samples_ms)) == (6, 6, 2)
    assert result.mean_matches > 0  # the realistic profiles do match the papers
    measures = dict(result.rows())
    assert measures["recent papers"] == "80"
    assert "target" in measures


def test_the_p95_is_a_sample_near_the_top() -> None:
    """The 95th percentile of 1..20 ms is the 19th sample."""
    timing = Timing("t", tuple(float(n) for n in range(1, 21)))
    assert (timing.median, timing.p95) == (10.5, 19.0)


def test_the_command_prints_the_table() -> None:
    """alertbot bench web --papers --profiles prints medians, p95 and the target."""
    result = run("bench", "web", "--papers", "60", "--profiles", "3")
    assert result.exit_code == 0, result.stderr
    assert "preview median / p95" in result.stdout
    assert "naive / preview" in result.stdout

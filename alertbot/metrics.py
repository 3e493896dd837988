"""Prometheus metrics, declared in one place so every stage counts the same way.

Stages increment these; ``GET /metrics`` exposes them (prometheus-client).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

papers_ingested = Counter(
    "alertbot_papers_ingested", "Papers stored for the first time.", ["source"], registry=REGISTRY
)
fetches = Counter(
    "alertbot_fetches", "Source fetches by outcome.", ["source", "status"], registry=REGISTRY
)
fetch_errors = Counter(
    "alertbot_fetch_errors", "Source fetches that failed.", ["source"], registry=REGISTRY
)
matches = Counter("alertbot_matches", "Papers matched into digests.", registry=REGISTRY)
digests_sent = Counter(
    "alertbot_digests_sent", "Digests delivered.", ["channel"], registry=REGISTRY
)
digests_failed = Counter(
    "alertbot_digests_failed",
    "Digest delivery attempts that failed, by outcome (alertbot.deliver.outcome.Outcome).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
delivery_latency = Histogram(
    "alertbot_delivery_latency_seconds",
    "Time from a digest being queued to being delivered.",
    ["channel"],
    buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
    registry=REGISTRY,
)

# -- the service (alertbot run) -------------------------------------------------------
job_runs = Counter(
    "alertbot_job_runs",
    "Scheduler job runs by job kind and outcome (ok, error, skipped).",
    ["job", "outcome"],
    registry=REGISTRY,
)
digests_queued = Counter(
    "alertbot_digests_queued", "Digests queued by the dispatcher tick.", registry=REGISTRY
)

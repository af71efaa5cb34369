"""Reconciliation metrics, exported on /metrics (and by the worker's metrics port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECONCILIATION_RUNS = Counter(
    "wallet_reconciliation_runs_total",
    "Reconciliation runs finished, by trigger and status (COMPLETED or FAILED).",
    ["trigger", "status"],
)
RECONCILIATION_FINDINGS = Gauge(
    "wallet_reconciliation_findings",
    "Findings of the last completed run, by kind (0 when the books balance).",
    ["kind"],
    multiprocess_mode="livemax",
)
RECONCILIATION_DURATION = Histogram(
    "wallet_reconciliation_duration_seconds",
    "How long a completed reconciliation run took.",
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
RECONCILIATION_LAST_SUCCESS = Gauge(
    "wallet_reconciliation_last_success_timestamp_seconds",
    "When the last reconciliation run completed (Unix time).",
    multiprocess_mode="livemax",
)

"""Outbox and broker metrics, exported by whichever process runs the publisher."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_BACKLOG = Gauge(
    "wallet_outbox_backlog",
    "Outbox events not yet published (pending, including those waiting to retry).",
    multiprocess_mode="livemax",
)
OUTBOX_OLDEST_PENDING_AGE = Gauge(
    "wallet_outbox_oldest_pending_age_seconds",
    "Age of the oldest outbox event not yet published (0 when none is pending).",
    multiprocess_mode="livemax",
)
OUTBOX_PUBLISHED = Counter("wallet_outbox_published_total", "Events the broker confirmed.")
OUTBOX_PUBLISH_LATENCY = Histogram(
    "wallet_outbox_publish_seconds",
    "Time from handing an event to the broker until its publisher confirm.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
OUTBOX_EVENT_LAG = Histogram(
    "wallet_outbox_event_lag_seconds",
    "Time from the money change's commit-time stamp until the broker confirmed its event.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0),
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "wallet_outbox_publish_failures_total",
    "Failed publish attempts, by reason (nack, unpublishable, broker_unavailable).",
    ["reason"],
)
OUTBOX_DEAD_LETTERED = Counter(
    "wallet_outbox_dead_lettered_total",
    "Events given up on after the maximum number of attempts.",
)
BROKER_UP = Gauge(
    "wallet_broker_up",
    "1 while the publisher holds a working broker connection, else 0.",
    multiprocess_mode="livemax",
)

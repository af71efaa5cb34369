"""Hold metrics, exported by whichever process runs the expiry task."""

from __future__ import annotations

from prometheus_client import Gauge

HOLD_EXPIRY_LAG = Gauge(
    "wallet_hold_expiry_lag_seconds",
    "How long past its deadline the oldest still-HELD hold was when the expiry sweep began.",
    multiprocess_mode="livemax",
)

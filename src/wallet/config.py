"""Settings, read from the environment with the ``WALLET_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WALLET_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset starts the embedded server."
    )
    data_dir: Path = Path(".wallet")
    rabbitmq_url: str | None = None
    redis_url: str | None = None

    jwt_secret: str | None = Field(
        default=None, description="HS256 signing secret; unset uses a dev secret in the data dir."
    )
    jwt_issuer: str = "wallet-service"
    jwt_audience: str = "wallet-service"
    jwt_leeway_seconds: int = 30

    pool_min_size: int = 2
    pool_max_size: int = 20
    # Postings from concurrent requests share one transaction (see ledger/batcher.py).
    posting_batch_max: int = Field(default=64, ge=1, le=1000)
    posting_batches_in_flight: int = Field(default=4, ge=1)
    ledger_page_max: int = 200
    idempotency_ttl_hours: int = 24
    log_level: str = "INFO"

    # Reconciliation (see docs/operations.md).
    reconcile_batch_size: int = Field(default=2000, ge=1, le=100_000)
    reconcile_max_findings: int = Field(
        default=1000, ge=1, description="Findings stored per run; the rest are only counted."
    )
    reconcile_outbox_window_hours: float = Field(
        default=24.0,
        gt=0,
        description="Journals this recent must have their outbox event; keep it below the "
        "outbox retention, since published events are pruned.",
    )
    reconcile_interval_hours: float = Field(default=24.0, gt=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

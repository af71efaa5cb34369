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

    # Events (outbox publishing, the worker and the feed): see docs/events.md.
    rabbitmq_exchange: str = "wallet.events"
    events_source: str = Field(default="urn:wallet-service", description="CloudEvents source.")
    events_page_max: int = 1000
    outbox_poll_seconds: float = 0.2
    outbox_wallets_per_round: int = 200
    outbox_events_per_wallet: int = 50
    outbox_max_attempts: int = 10
    outbox_retry_base_seconds: float = 1.0
    outbox_retry_max_seconds: float = 300.0
    outbox_confirm_timeout_seconds: float = 10.0
    outbox_max_message_bytes: int = 1_000_000
    outbox_retention_hours: float = Field(
        default=168.0, description="Published events stay readable in the feed this long."
    )
    worker_max_backoff_seconds: float = 30.0
    worker_metrics_port: int | None = None
    run_worker_in_server: bool = Field(
        default=False, description="Run the worker's loops inside `wallet serve` too."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

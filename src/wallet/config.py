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
    ledger_page_max: int = 200
    idempotency_ttl_hours: int = 24

    # Holds (issue 3): how long a hold lives unless told otherwise, the longest it may live,
    # and how often / how much the expiry worker sweeps.
    hold_default_ttl_seconds: int = Field(default=1800, ge=1)
    hold_max_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    hold_expiry_interval_seconds: float = Field(default=5.0, gt=0)
    hold_expiry_batch_size: int = Field(default=500, ge=1)
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""Settings, read from the environment with the ``WALLET_`` prefix.

Secrets may also come from files: for every field in ``FILE_BACKED_FIELDS``, a variable
``WALLET_<NAME>_FILE`` names a file whose contents are used (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import ipaddress
import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

FILE_BACKED_FIELDS = (
    "database_url",
    "migration_database_url",
    "rabbitmq_url",
    "redis_url",
    "jwt_secret",
    "pii_keys",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WALLET_", extra="ignore")

    env: Literal["development", "production"] = Field(
        default="development",
        description="production refuses generated dev secrets and weak keys at start-up.",
    )
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL of the application role; unset = embedded."
    )
    migration_database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of the owner role that runs migrations; unset = database_url.",
    )
    data_dir: Path = Path(".wallet")
    rabbitmq_url: str | None = None
    redis_url: str | None = None

    jwt_secret: str | None = Field(
        default=None, description="HS256 signing secret; unset uses a dev secret in the data dir."
    )
    jwt_secret_kid: str = "hs1"  # noqa: S105 - a key id, not a secret
    jwt_jwks_file: Path | None = Field(
        default=None, description="JWKS file of public verification keys (each with a kid)."
    )
    jwt_public_keys_dir: Path | None = Field(
        default=None, description="Folder of <kid>.pem public verification keys."
    )
    jwt_private_key_file: Path | None = Field(
        default=None, description="PEM private key `wallet token` signs with (else the secret)."
    )
    jwt_signing_kid: str | None = None
    jwt_issuer: str = "wallet-service"
    jwt_audience: str = "wallet-service"
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)

    pii_fields: Annotated[list[str], NoDecode] = Field(
        default=["email", "phone", "national_id"],
        description="Wallet metadata keys encrypted at rest (comma-separated).",
    )
    pii_keys: str | None = Field(
        default=None,
        description="AES-GCM key ring 'kid:base64key,...'; the first is the primary.",
    )

    rate_limit_per_address: str = "5000/second"
    rate_limit_auth_failures: str = "30/minute"
    rate_limit_user: str = "50/second;2000/minute"
    rate_limit_platform: str = "5000/second"
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # POST /v1/batches only: 1,000 items with references and some metadata fit in 2 MiB.
    batch_max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Checked by `wallet serve` before a request reaches the app (see http_guard.py).
    max_header_count: int = Field(default=100, ge=10)
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Proxy addresses/CIDRs whose X-Forwarded-For/-Proto are believed "
        "(comma-separated); empty = the client address is always the TCP peer.",
    )

    pool_min_size: int = 2
    pool_max_size: int = 20
    database_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Longest wait for a new database connection."
    )
    # Postings from concurrent requests share one transaction (see ledger/batcher.py).
    posting_batch_max: int = Field(default=64, ge=1, le=1000)
    # One batch at a time per process: the next batch fills while one commits. With one
    # process per CPU that is as many posting transactions as cores; more of them collided on
    # the same wallets and waited on each other's locks (uniform transfers over HTTP: 901/s
    # with 4 in flight, 1,288-1,476/s with 1; bench/transfers.py).
    posting_batches_in_flight: int = Field(default=1, ge=1)
    # Deposit, withdraw and transfer answered without FastAPI's per-request machinery
    # (transfers/direct.py); off sends them through FastAPI like every other route.
    direct_money_routes: bool = True
    ledger_page_max: int = 200
    idempotency_ttl_hours: int = 24

    # Holds: how long a hold lives unless told otherwise, the longest it may live,
    # and how often / how much the expiry worker sweeps.
    hold_default_ttl_seconds: int = Field(default=1800, ge=1)
    hold_max_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    hold_expiry_interval_seconds: float = Field(default=5.0, gt=0)
    hold_expiry_batch_size: int = Field(default=500, ge=1)
    # FX: how long a quote locks its rate, and the spread kept (to FEES) on every exchange.
    fx_quote_ttl_seconds: int = Field(default=30, ge=1, le=3600)
    fx_spread: Decimal = Field(default=Decimal("0.005"), ge=0, lt=1)
    # Payouts: the rail's endpoint (unset: the worker sends no payouts), how often the worker
    # moves them along, and how long a payout the rail did not answer waits to be asked again.
    payout_rail_url: str | None = None
    payout_interval_seconds: float = Field(default=10.0, gt=0)
    payout_retry_after_seconds: float = Field(default=30.0, ge=0)
    # A scheduled payout run (unset currency: none): every interval, the wallets of that
    # currency whose owner starts with the prefix and whose cash is above the threshold.
    payout_schedule_currency: str | None = None
    payout_schedule_threshold: int = Field(default=0, ge=0)
    payout_schedule_owner_prefix: str = "driver-"
    payout_schedule_interval_hours: float = Field(default=24.0, gt=0)
    log_level: str = "INFO"
    # Traces over OTLP/HTTP (wallet.tracing); also on when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    # Off by default: FastAPI's per-request telemetry check alone costs ~5% of a request.
    otel_enabled: bool = False

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

    # Events (outbox publishing, the worker and the feed): see docs/events.md.
    rabbitmq_exchange: str = "wallet.events"
    events_source: str = Field(default="urn:wallet-service", description="CloudEvents source.")
    events_page_max: int = 1000
    outbox_poll_seconds: float = 0.2
    outbox_wallets_per_round: int = 2000
    outbox_events_per_wallet: int = 50
    outbox_rounds_in_flight: int = Field(
        default=3,
        ge=1,
        description="Publishing rounds one worker runs at once: one claims and renders from "
        "the database while another waits for the broker's confirms.",
    )
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
    # 127.0.0.1 keeps metrics private on a shared host; a container sets 0.0.0.0 so that
    # Prometheus can scrape the pod.
    worker_metrics_host: str = "127.0.0.1"
    run_worker_in_server: bool = Field(
        default=False, description="Run the worker's loops inside `wallet serve` too."
    )

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name in FILE_BACKED_FIELDS:
            path = os.environ.get(f"WALLET_{name.upper()}_FILE")
            if path and data.get(name) is None:
                data[name] = Path(path).read_text().strip()
        return data

    @field_validator("pii_fields", "trusted_proxies", mode="before")
    @classmethod
    def _split_fields(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        # Addresses or CIDRs only: a wildcard or a host name would trust whoever sends it.
        return [str(ipaddress.ip_network(item, strict=False)) for item in value]

    @property
    def is_production(self) -> bool:
        return self.env == "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

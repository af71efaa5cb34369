"""X-Forwarded-For counts only from a configured proxy (WALLET_TRUSTED_PROXIES).

The in-process client's TCP peer is 127.0.0.1, the address uvicorn used to trust by default:
a spoofed header from it must neither move the caller's own lockout nor lock out someone else.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from pydantic import ValidationError

from tests.support import started_app
from wallet.config import Settings

SPOOFED = "203.0.113.7"


async def _refused_from(
    settings: Settings, db: asyncpg.Connection[Any], forwarded_for: str
) -> tuple[int, str]:
    """Send one unauthenticated request with the header; the status and the audited address."""
    trace = f"xff-{uuid4().hex}"
    async with started_app(settings) as client:
        response = await client.get(
            "/v1/wallets", headers={"X-Forwarded-For": forwarded_for, "X-Trace-Id": trace}
        )
    address = await db.fetchval(
        "SELECT client_address FROM audit_log WHERE trace_id = $1 AND action = 'auth.failed'",
        trace,
    )
    return response.status_code, str(address)


async def test_forwarded_for_is_ignored_by_default(
    settings: Settings, db: asyncpg.Connection[Any]
) -> None:
    assert settings.trusted_proxies == []
    assert await _refused_from(settings, db, SPOOFED) == (401, "127.0.0.1")


async def test_forwarded_for_is_ignored_from_a_peer_outside_the_trusted_proxies(
    settings: Settings, db: asyncpg.Connection[Any]
) -> None:
    elsewhere = settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]})
    assert await _refused_from(elsewhere, db, SPOOFED) == (401, "127.0.0.1")


async def test_forwarded_for_is_honoured_from_a_trusted_proxy(
    settings: Settings, db: asyncpg.Connection[Any]
) -> None:
    trusted = settings.model_copy(update={"trusted_proxies": ["127.0.0.1/32"]})
    assert await _refused_from(trusted, db, SPOOFED) == (401, SPOOFED)


async def test_spoofed_failures_cannot_lock_out_another_address(settings: Settings) -> None:
    strict = settings.model_copy(update={"rate_limit_auth_failures": "3/minute"})
    async with started_app(strict) as client:
        for _ in range(4):
            await client.get("/v1/wallets", headers={"X-Forwarded-For": SPOOFED})
        # Every failure counted against the real peer, not against the spoofed address...
        own = await client.get("/v1/wallets", headers={"Authorization": "Bearer x"})
    assert own.status_code == 429
    trusted = strict.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    async with started_app(trusted) as client:
        for _ in range(4):
            await client.get("/v1/wallets", headers={"X-Forwarded-For": SPOOFED})
        # ...while behind a trusted proxy the forwarded address is the one locked out.
        victim = await client.get("/v1/wallets", headers={"X-Forwarded-For": SPOOFED})
        other = await client.get("/v1/wallets", headers={"X-Forwarded-For": "198.51.100.1"})
    assert (victim.status_code, other.status_code) == (429, 401)


@pytest.mark.parametrize("value", ["*", "proxy.internal", "10.0.0.0/33"])
def test_only_addresses_and_networks_can_be_trusted(value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(trusted_proxies=value)  # type: ignore[arg-type]


def test_trusted_proxies_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLET_TRUSTED_PROXIES", "10.1.2.3, 192.168.0.0/16")
    assert Settings().trusted_proxies == ["10.1.2.3/32", "192.168.0.0/16"]

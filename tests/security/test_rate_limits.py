"""Over a limit: 429 problem+json with Retry-After, and the books do not move. Oversized: 413."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from tests.support import Api, started_app
from wallet.auth.tokens import Role
from wallet.config import Settings


def _assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def _balances(db: asyncpg.Connection[Any], *wallet_ids: str) -> list[int]:
    rows = await db.fetch(
        "SELECT balance FROM wallets WHERE id = ANY($1::uuid[]) ORDER BY array_position($1, id)",
        list(wallet_ids),
    )
    return [row["balance"] for row in rows]


async def _user_limit_scenario(
    api: Api, db: asyncpg.Connection[Any], settings: Settings, owner: str
) -> None:
    source = await api.funded_wallet(owner, 1000)
    destination = (await api.create_wallet(f"dest-{uuid4().hex[:8]}"))["id"]
    user_token = api.token(owner, Role.USER)
    async with started_app(settings) as client:
        statuses = []
        for _ in range(3):
            response = await client.post(
                f"/v1/wallets/{source}/transfer",
                json={"amount": 10, "to_wallet_id": destination},
                headers=api.headers(user_token, key=str(uuid4())),
            )
            statuses.append(response.status_code)
        assert statuses == [201, 201, 201]
        refused_key = str(uuid4())
        refused = await client.post(
            f"/v1/wallets/{source}/transfer",
            json={"amount": 10, "to_wallet_id": destination},
            headers=api.headers(user_token, key=refused_key),
        )
        _assert_rate_limited(refused)
        # Another caller is not affected by this user's limit.
        other = await client.get(f"/v1/wallets/{source}", headers=api.headers())
        assert other.status_code == 200
    assert await _balances(db, source, destination) == [970, 30]
    assert (
        await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = $1", refused_key) == 0
    )


async def test_user_over_the_limit_gets_429_and_no_ledger_effect(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    settings = api.settings.model_copy(update={"rate_limit_user": "3/minute"})
    await _user_limit_scenario(api, db, settings, owner)


def _redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.2).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis at 127.0.0.1:6379")
async def test_redis_storage_when_configured(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    settings = api.settings.model_copy(
        update={"rate_limit_user": "3/minute", "redis_url": "redis://127.0.0.1:6379/15"}
    )
    await _user_limit_scenario(api, db, settings, owner)


async def test_per_address_limit(api: Api) -> None:
    settings = api.settings.model_copy(update={"rate_limit_per_address": "4/minute"})
    async with started_app(settings) as client:
        responses = [
            await client.get("/v1/wallets?owner_id=x", headers=api.headers()) for _ in range(5)
        ]
        health = await client.get("/healthz")
    assert [r.status_code for r in responses[:4]] == [200] * 4
    _assert_rate_limited(responses[4])
    assert health.status_code == 200  # probes are never limited


async def test_repeated_authentication_failures_lock_the_address_out(api: Api) -> None:
    settings = api.settings.model_copy(update={"rate_limit_auth_failures": "2/minute"})
    async with started_app(settings) as client:
        bad = [
            await client.get("/v1/wallets", headers={"Authorization": "Bearer forged"})
            for _ in range(2)
        ]
        good_after = await client.get("/v1/wallets?owner_id=x", headers=api.headers())
    assert [r.status_code for r in bad] == [401, 401]
    _assert_rate_limited(good_after)


@pytest.fixture
async def small_body_client(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    settings = api.settings.model_copy(update={"max_body_bytes": 1024})
    async with started_app(settings) as client:
        yield client


async def test_oversized_body_is_413_and_creates_nothing(
    api: Api, small_body_client: httpx.AsyncClient, owner: str, db: asyncpg.Connection[Any]
) -> None:
    body = {"owner_id": owner, "currency": "USD", "metadata": {"note": "x" * 2000}}
    response = await small_body_client.post("/v1/wallets", json=body, headers=api.headers())
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert await db.fetchval("SELECT count(*) FROM wallets WHERE owner_id = $1", owner) == 0


async def test_oversized_chunked_body_is_413(
    api: Api, small_body_client: httpx.AsyncClient, owner: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"owner_id": "' + owner.encode() + b'", "currency": "USD", "metadata": {"n": "'
        for _ in range(4):
            yield b"y" * 500
        yield b'"}}'

    response = await small_body_client.post(
        "/v1/wallets",
        content=chunks(),
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


async def test_small_chunked_body_still_works(
    api: Api, small_body_client: httpx.AsyncClient, owner: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"owner_id": "' + owner.encode()
        yield b'", "currency": "USD"}'

    response = await small_body_client.post(
        "/v1/wallets",
        content=chunks(),
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


async def test_ledger_page_size_is_capped(api: Api, owner: str) -> None:
    settings = api.settings.model_copy(update={"ledger_page_max": 2})
    wallet_id = await api.funded_wallet(owner, 10)
    for _ in range(3):
        assert (await api.move(wallet_id, "deposit", {"amount": 1})).status_code == 201
    async with started_app(settings) as client:
        page = await client.get(
            f"/v1/wallets/{wallet_id}/ledger", params={"limit": 1000}, headers=api.headers()
        )
    assert len(page.json()["items"]) == 2
    assert page.json()["next_cursor"] is not None

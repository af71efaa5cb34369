"""Idempotency-Key: retries are safe, reuse is caught, concurrency yields one effect."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from tests.support import Api
from wallet.auth.tokens import Role


async def test_the_key_is_required(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    response = await api.http.post(
        f"/v1/wallets/{wallet_id}/withdraw", json={"amount": 1}, headers=api.headers()
    )
    assert (response.status_code, response.json()["code"]) == (400, "idempotency_key_required")
    blank = await api.http.post(
        f"/v1/wallets/{wallet_id}/withdraw",
        json={"amount": 1},
        headers=api.headers(key="has spaces"),
    )
    assert blank.status_code == 422
    assert (await api.wallet(wallet_id))["balance"] == 100


async def test_a_retry_replays_the_first_answer_byte_for_byte(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    key = str(uuid4())
    first = await api.move(wallet_id, "withdraw", {"amount": 30}, key=key)
    second = await api.move(wallet_id, "withdraw", {"amount": 30}, key=key)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert (await api.wallet(wallet_id))["balance"] == 70


async def test_a_posted_keys_record_rebuilds_its_answer_from_the_journal(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    # No stored body or status (201 is implied: migrations/0022), yet the replay is the same.
    wallet_id = await api.funded_wallet(owner, 100)
    key = str(uuid4())
    first = await api.move(wallet_id, "withdraw", {"amount": 30}, key=key)
    record = await db.fetchrow(
        "SELECT status_code, response_body, journal_id FROM idempotency_keys WHERE key = $1", key
    )
    assert record is not None
    assert (record["status_code"], record["response_body"]) == (None, None)
    assert str(record["journal_id"]) == first.json()["id"]
    second = await api.move(wallet_id, "withdraw", {"amount": 30}, key=key)
    assert (second.status_code, second.content) == (201, first.content)


async def test_the_same_key_for_a_different_request_is_refused(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    key = str(uuid4())
    assert (await api.move(wallet_id, "withdraw", {"amount": 30}, key=key)).status_code == 201
    different = await api.move(wallet_id, "withdraw", {"amount": 31}, key=key)
    assert (different.status_code, different.json()["code"]) == (422, "idempotency_key_reused")
    other_route = await api.move(wallet_id, "deposit", {"amount": 30}, key=key)
    assert other_route.json()["code"] == "idempotency_key_reused"
    assert (await api.wallet(wallet_id))["balance"] == 70


async def test_keys_are_scoped_per_caller(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    key = str(uuid4())
    first = await api.move(wallet_id, "withdraw", {"amount": 10}, key=key)
    other_caller = api.token("billing-service", Role.PAYMENTS)
    second = await api.move(wallet_id, "withdraw", {"amount": 10}, key=key, token=other_caller)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert (await api.wallet(wallet_id))["balance"] == 80


async def test_a_refused_request_does_not_consume_the_key(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    key = str(uuid4())
    refused = await api.move(wallet_id, "withdraw", {"amount": 150}, key=key)
    assert refused.json()["code"] == "insufficient_funds"
    await api.move(wallet_id, "deposit", {"amount": 100})
    retried = await api.move(wallet_id, "withdraw", {"amount": 150}, key=key)
    assert retried.status_code == 201
    assert (await api.wallet(wallet_id))["balance"] == 50


async def test_twenty_concurrent_requests_with_one_key_have_one_effect(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    source = await api.funded_wallet(owner, 1000)
    target = (await api.create_wallet(f"{owner}-t"))["id"]
    key = str(uuid4())
    body = {"to_wallet_id": target, "amount": 100}
    responses = await asyncio.gather(
        *(api.move(source, "transfer", body, key=key) for _ in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    assert all(
        r.json()["code"] == "idempotency_key_in_use" for r in responses if r.status_code == 409
    )
    assert (await api.wallet(source))["balance"] == 900
    assert (await api.wallet(target))["balance"] == 100
    journals = await db.fetchval(
        "SELECT count(*) FROM journals WHERE wallet_id = $1 AND type = 'TRANSFER'", source
    )
    assert journals == 1


async def test_the_database_refuses_a_second_record_of_a_key_whoever_writes_it(
    db: asyncpg.Connection[Any],
) -> None:
    """Unique by (caller, key) through the hash index's exclusion constraint (migrations/0020),
    also for a writer that skips the functions' advisory locks; pairs that spell the same text
    when joined are different keys."""
    caller = f"direct-{uuid4().hex[:8]}"
    insert = """INSERT INTO idempotency_keys (caller, key, fingerprint, status_code, response_body)
                VALUES ($1, $2, '\\x00', 200, '{}')"""
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(insert, caller, "k1")
        await db.execute(insert, caller + "k", "1")  # joined, the same text as (caller, "k1")
        await db.execute(insert, caller + "-other", "k1")
        with pytest.raises(asyncpg.ExclusionViolationError):
            async with db.transaction():  # a savepoint, so the outer transaction goes on
                await db.execute(insert, caller, "k1")
        found = await db.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE caller LIKE $1", caller + "%"
        )
        assert found == 3
    finally:
        await transaction.rollback()

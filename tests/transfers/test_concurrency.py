"""Money under concurrency: no overdraft, no lost update, nothing created or destroyed."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import asyncpg

from tests.support import Api


async def test_hundred_concurrent_withdrawals_never_overdraw(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 500)
    responses = await asyncio.gather(
        *(api.move(wallet_id, "withdraw", {"amount": 10}) for _ in range(100))
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 50
    assert statuses.count(422) == 50
    assert {r.json()["code"] for r in responses if r.status_code == 422} == {"insufficient_funds"}
    assert (await api.wallet(wallet_id))["balance"] == 0
    # Never negative at any point: every recorded balance along the way is >= 0.
    lowest = await db.fetchval(
        "SELECT min(balance_after) FROM entries WHERE wallet_id = $1", wallet_id
    )
    assert lowest == 0


async def test_random_concurrent_transfers_conserve_money(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallets = [await api.funded_wallet(f"{owner}-{i}", 1_000, "SEK") for i in range(20)]
    deadline = time.monotonic() + 3.0
    rng = random.Random(7)
    outcomes: list[int] = []

    async def client() -> None:
        while time.monotonic() < deadline:
            source, target = rng.sample(wallets, 2)
            body = {"to_wallet_id": target, "amount": rng.randint(1, 400)}
            outcomes.append((await api.move(source, "transfer", body)).status_code)

    await asyncio.gather(*(client() for _ in range(16)))
    assert outcomes.count(201) > 50
    assert set(outcomes) <= {201, 422}

    # Per currency, every wallet (system ones included) sums to zero.
    totals = await db.fetch("SELECT currency, sum(balance) AS total FROM wallets GROUP BY currency")
    assert all(row["total"] == 0 for row in totals), totals
    # Each wallet's balance is the sum of its entries, and so is its last balance_after.
    drift = await db.fetch(
        """
        SELECT w.id, w.balance, coalesce(sum(e.amount), 0) AS entries_total
        FROM wallets w LEFT JOIN entries e ON e.wallet_id = w.id
        GROUP BY w.id HAVING w.balance <> coalesce(sum(e.amount), 0)
        """
    )
    assert drift == []
    user_total = await db.fetchval(
        "SELECT sum(balance) FROM wallets WHERE id = ANY($1::uuid[])", wallets
    )
    assert user_total == 20 * 1_000

"""The expiry worker's function, called directly, alone and from several tasks at once."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import pytest
from fastapi import FastAPI

from tests.holds.helpers import assert_ledger_consistent, capture, create_hold, get_hold, make_due
from tests.support import Api
from wallet.holds.tasks import expire_due_holds


async def _expire_journals(db: asyncpg.Connection[Any]) -> int:
    count: int = await db.fetchval("SELECT count(*) FROM journals WHERE type = 'HOLD_EXPIRE'")
    return count


async def test_due_holds_expire_and_live_ones_stay(
    api: Api, app: FastAPI, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 1_000)
    due = await create_hold(api, wallet_id, 300)
    partly_captured = await create_hold(api, wallet_id, 200)
    live = await create_hold(api, wallet_id, 100)
    await capture(api, partly_captured["id"], {"amount": 50})
    await make_due(db, due["id"])
    await make_due(db, partly_captured["id"])

    expired = await expire_due_holds(app.state.pool)

    assert expired >= 2  # other tests may have left due holds behind too
    assert (await get_hold(api, due["id"]))["status"] == "EXPIRED"
    ended = await get_hold(api, partly_captured["id"])
    assert (ended["status"], ended["captured"], ended["remaining"]) == ("EXPIRED", 50, 0)
    assert (await get_hold(api, live["id"]))["status"] == "HELD"
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["held"]) == (950, 100)
    event = await db.fetchval(
        "SELECT payload::text FROM outbox_documents"
        " WHERE event_type = 'hold.expired' AND wallet_id = $1"
        " ORDER BY sequence DESC LIMIT 1",
        UUID(wallet_id),
    )
    assert orjson.loads(event)["hold"]["status"] == "EXPIRED"
    assert await expire_due_holds(app.state.pool) == 0
    await assert_ledger_consistent(db, [wallet_id])


async def test_many_workers_at_once_expire_each_hold_exactly_once(
    api: Api, app: FastAPI, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallets = [await api.funded_wallet(f"{owner}-{n}", 10_000) for n in range(4)]
    holds = [await create_hold(api, wallets[n % 4], 10 + n) for n in range(60)]
    for hold in holds:
        await make_due(db, hold["id"])
    journals_before = await _expire_journals(db)

    counts = await asyncio.gather(
        *(expire_due_holds(app.state.pool, batch_size=7) for _ in range(5))
    )

    assert sum(counts) == await _expire_journals(db) - journals_before
    assert sum(counts) >= 60
    per_hold = await db.fetch(
        "SELECT hold_id, count(*) AS n FROM journals WHERE type = 'HOLD_EXPIRE'"
        " AND hold_id = ANY($1::uuid[]) GROUP BY hold_id",
        [UUID(hold["id"]) for hold in holds],
    )
    assert len(per_hold) == 60 and {row["n"] for row in per_hold} == {1}
    for wallet_id in wallets:
        assert (await api.wallet(wallet_id))["held"] == 0
    await assert_ledger_consistent(db, wallets)


async def test_batch_size_must_be_positive(app: FastAPI) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        await expire_due_holds(app.state.pool, batch_size=0)

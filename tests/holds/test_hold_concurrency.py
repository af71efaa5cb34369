"""Holds under concurrency: no over-reserving, captures move money once, expiry races."""

from __future__ import annotations

import asyncio
import random
from typing import Any
from uuid import UUID

import asyncpg
from fastapi import FastAPI

from tests.holds.helpers import (
    assert_ledger_consistent,
    balance_of,
    capture,
    create_hold,
    post,
    settlement_wallet,
)
from tests.support import Api
from wallet.holds.tasks import expire_due_holds


async def test_200_concurrent_holds_never_over_reserve(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 10_000)
    amounts = [random.randint(1, 300) for _ in range(200)]
    responses = await asyncio.gather(
        *(post(api, f"/v1/wallets/{wallet_id}/holds", {"amount": amount}) for amount in amounts)
    )

    assert all(response.status_code < 500 for response in responses)
    granted = [a for a, r in zip(amounts, responses, strict=True) if r.status_code == 201]
    refused = [a for a, r in zip(amounts, responses, strict=True) if r.status_code != 201]
    assert {r.json()["code"] for r in responses if r.status_code != 201} <= {"insufficient_funds"}
    assert granted and refused  # the amounts were chosen so that both happen
    assert sum(granted) <= 10_000
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["held"]) == (10_000, sum(granted))
    # Available only shrinks, so everything refused was more than what is left now.
    assert min(refused) > wallet["available"]
    await assert_ledger_consistent(db, [wallet_id])


async def test_100_concurrent_full_captures_of_one_hold_move_money_once(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    payer = await api.funded_wallet(owner, 5_000)
    settlement = await settlement_wallet(db)
    settlement_before = await balance_of(db, settlement)
    hold = await create_hold(api, payer, 1_234)

    responses = await asyncio.gather(*(capture(api, hold["id"], {}) for _ in range(100)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 99
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"hold_not_active"}
    wallet = await api.wallet(payer)
    assert (wallet["balance"], wallet["held"]) == (5_000 - 1_234, 0)
    assert await balance_of(db, settlement) == settlement_before + 1_234
    captures = await db.fetchval(
        "SELECT count(*) FROM journals WHERE hold_id = $1 AND type = 'CAPTURE'", UUID(hold["id"])
    )
    assert captures == 1
    await assert_ledger_consistent(db, [payer])


async def test_capture_racing_expiry_ends_each_hold_exactly_once(
    api: Api, app: FastAPI, db: asyncpg.Connection[Any], owner: str
) -> None:
    payer = await api.funded_wallet(owner, 1_000_000)
    driver = (await api.create_wallet(f"driver-{owner}"))["id"]
    holds: list[dict[str, Any]] = []
    for _round in range(25):
        batch = [await create_hold(api, payer, random.randint(10, 1_000)) for _ in range(4)]
        # Deadlines spread over the next few tens of milliseconds, while workers sweep again
        # and again: some holds fall due before their capture arrives, some after.
        for hold in batch:
            await db.execute(
                "UPDATE holds SET expires_at = clock_timestamp() + make_interval(secs => $2)"
                " WHERE id = $1",
                UUID(hold["id"]),
                random.uniform(-0.005, 0.06),
            )
        await asyncio.gather(
            *(_client_step(api, hold, driver) for hold in batch),
            _sweeping_worker(app),
            _sweeping_worker(app),
        )
        holds.extend(batch)

    await asyncio.sleep(0.07)  # every deadline has passed: a last sweep expires what is left
    await expire_due_holds(app.state.pool)
    await _assert_each_hold_ended_once(db, [UUID(hold["id"]) for hold in holds])
    await assert_ledger_consistent(db, [payer, driver])


async def _sweeping_worker(app: FastAPI) -> None:
    for _sweep in range(8):
        await expire_due_holds(app.state.pool, batch_size=3)
        await asyncio.sleep(random.uniform(0, 0.01))


async def _client_step(api: Api, hold: dict[str, Any], driver: str) -> None:
    choice = random.choice(["full", "partial", "final", "release"])
    if choice == "release":
        response = await post(api, f"/v1/holds/{hold['id']}/release")
    else:
        amount = None if choice == "full" else random.randint(1, hold["amount"])
        body: dict[str, Any] = {"to_wallet_id": driver, "final": choice == "final"}
        response = await capture(api, hold["id"], body | ({"amount": amount} if amount else {}))
    assert response.status_code in (200, 201, 409), response.text


async def _assert_each_hold_ended_once(db: asyncpg.Connection[Any], hold_ids: list[UUID]) -> None:
    rows = await db.fetch(
        """
        SELECT h.status, h.captured,
               (SELECT coalesce(sum(amount), 0) FROM journals
                WHERE hold_id = h.id AND type = 'CAPTURE') AS captured_by_journals,
               (SELECT count(*) FROM journals
                WHERE hold_id = h.id AND type IN ('HOLD_RELEASE', 'HOLD_EXPIRE')) AS closings,
               (SELECT count(*) FROM journals
                WHERE hold_id = h.id AND type = 'HOLD_EXPIRE') AS expiries
        FROM holds h WHERE h.id = ANY($1::uuid[])
        """,
        hold_ids,
    )
    assert len(rows) == len(hold_ids)
    for row in rows:
        assert row["status"] in ("CAPTURED", "RELEASED", "EXPIRED"), dict(row)
        assert row["captured"] == row["captured_by_journals"], dict(row)
        assert row["closings"] == (0 if row["status"] == "CAPTURED" else 1), dict(row)
        assert row["expiries"] == (1 if row["status"] == "EXPIRED" else 0), dict(row)
    # The race really happened both ways.
    assert {row["status"] for row in rows} >= {"CAPTURED", "EXPIRED"}

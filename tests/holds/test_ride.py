"""The ride: hold, surge re-authorisation, split capture, partial refund; exact books."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import orjson

from tests.holds.helpers import (
    assert_ledger_consistent,
    balance_of,
    create_hold,
    post,
    settlement_wallet,
    system_wallet_shards,
)
from tests.support import Api


async def test_the_ride_end_to_end(api: Api, db: asyncpg.Connection[Any], owner: str) -> None:
    passenger = await api.funded_wallet(owner, 5_000)
    driver = (await api.create_wallet(f"driver-{owner}"))["id"]
    settlement = await settlement_wallet(db)
    settlement_before = await balance_of(db, settlement)

    # Passenger requests a ride: 1,500 is reserved.
    hold = await create_hold(api, passenger, 1_500, reference_type="ride", reference_id=owner)
    assert (hold["amount"], hold["remaining"], hold["status"]) == (1_500, 1_500, "HELD")
    wallet = await api.wallet(passenger)
    assert (wallet["balance"], wallet["held"], wallet["available"]) == (5_000, 1_500, 3_500)

    # Surge: re-authorise to 1,800.
    adjusted = await post(api, f"/v1/holds/{hold['id']}/adjust", {"amount": 1_800})
    assert adjusted.status_code == 200, adjusted.text
    assert adjusted.json()["amount"] == 1_800
    wallet = await api.wallet(passenger)
    assert (wallet["balance"], wallet["held"], wallet["available"]) == (5_000, 1_800, 3_200)

    # The ride ends at 1,620: 1,300 to the driver, 320 to the platform (settlement), the
    # rest released, all in one journal.
    captured = await post(
        api,
        f"/v1/holds/{hold['id']}/capture",
        {"splits": [{"to_wallet_id": driver, "amount": 1_300}, {"amount": 320}], "final": True},
    )
    assert captured.status_code == 201, captured.text
    capture = captured.json()
    assert (capture["type"], capture["amount"], capture["hold_id"]) == (
        "CAPTURE",
        1_620,
        hold["id"],
    )
    assert capture["hold"]["status"] == "CAPTURED"
    assert (capture["hold"]["captured"], capture["hold"]["remaining"]) == (1_620, 0)
    shards = await system_wallet_shards(db, settlement)
    entries = {
        "settlement" if entry["wallet_id"] in shards else entry["wallet_id"]: entry
        for entry in capture["entries"]
    }
    assert entries[passenger] == {
        "wallet_id": passenger,
        "amount": -1_620,
        "balance_before": 5_000,
        "balance_after": 3_380,
        "held_before": 1_800,
        "held_after": 0,
    }
    assert entries[driver]["amount"] == 1_300
    assert (entries[driver]["balance_before"], entries[driver]["balance_after"]) == (0, 1_300)
    assert entries["settlement"]["amount"] == 320
    assert len(entries) == 3

    # A partial refund of 300 to the passenger, pro rata from driver and platform:
    # 300 * 1300/1620 = 240.74 and 300 * 320/1620 = 59.26; the spare unit goes to the larger
    # remainder (the driver): 241 + 59.
    refunded = await post(api, f"/v1/transactions/{capture['id']}/refund", {"amount": 300})
    assert refunded.status_code == 201, refunded.text
    refund = refunded.json()
    assert (refund["type"], refund["amount"], refund["related_transaction_id"]) == (
        "REFUND",
        300,
        capture["id"],
    )
    assert {
        "settlement" if entry["wallet_id"] in shards else entry["wallet_id"]: entry["amount"]
        for entry in refund["entries"]
    } == {passenger: 300, driver: -241, "settlement": -59}

    wallet = await api.wallet(passenger)
    assert (wallet["balance"], wallet["held"], wallet["available"]) == (3_680, 0, 3_680)
    assert (await api.wallet(driver))["balance"] == 1_059
    assert await balance_of(db, settlement) == settlement_before + 261

    await _assert_passenger_ledger(api, passenger)
    await _assert_events(db, passenger, driver)
    await assert_ledger_consistent(db, [passenger, driver])


async def _assert_passenger_ledger(api: Api, passenger: str) -> None:
    response = await api.http.get(f"/v1/wallets/{passenger}/ledger", headers=api.headers())
    assert response.status_code == 200, response.text
    rows = [
        (
            item["type"],
            item["amount"],
            item["balance_after"],
            item["held_before"],
            item["held_after"],
        )
        for item in response.json()["items"]
    ]
    assert rows == [
        ("REFUND", 300, 3_680, 0, 0),
        ("CAPTURE", -1_620, 3_380, 1_800, 0),
        ("HOLD_ADJUST", 0, 5_000, 1_500, 1_800),
        ("HOLD", 0, 5_000, 0, 1_500),
        ("DEPOSIT", 5_000, 5_000, 0, 0),
    ]


async def _assert_events(db: asyncpg.Connection[Any], passenger: str, driver: str) -> None:
    async def events(wallet_id: str) -> list[tuple[str, int]]:
        rows = await db.fetch(
            "SELECT event_type, sequence FROM outbox_documents"
            " WHERE wallet_id = $1 ORDER BY sequence",
            UUID(wallet_id),
        )
        return [(row["event_type"], row["sequence"]) for row in rows]

    assert await events(passenger) == [
        ("wallet.created", 1),
        ("wallet.deposit.completed", 2),
        ("hold.created", 3),
        ("hold.adjusted", 4),
        ("hold.captured", 5),
        ("refund.completed", 6),
    ]
    assert await events(driver) == [
        ("wallet.created", 1),
        ("hold.captured", 2),
        ("refund.completed", 3),
    ]
    version = await db.fetchval("SELECT version FROM wallets WHERE id = $1", UUID(passenger))
    assert version == 6
    captured_event = await db.fetchval(
        """SELECT payload::text FROM outbox_documents
           WHERE wallet_id = $1 AND event_type = 'hold.captured'""",
        UUID(passenger),
    )
    payload = orjson.loads(captured_event)
    assert payload["hold"]["status"] == "CAPTURED"
    assert payload["wallet"]["balance"] == 3_380
    assert payload["transaction"]["amount"] == 1_620

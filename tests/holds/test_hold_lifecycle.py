"""Capturing, re-authorising and releasing a hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from tests.holds.helpers import (
    assert_ledger_consistent,
    balance_of,
    capture,
    create_hold,
    get_hold,
    make_due,
    post,
    settlement_wallet,
)
from tests.support import Api


async def test_partial_captures_until_nothing_remains(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    driver = (await api.create_wallet(f"driver-{owner}"))["id"]
    hold = await create_hold(api, payer, 600)

    first = await capture(api, hold["id"], {"amount": 200, "to_wallet_id": driver})
    assert first.status_code == 201, first.text
    assert (first.json()["hold"]["status"], first.json()["hold"]["remaining"]) == ("HELD", 400)
    too_much = await capture(api, hold["id"], {"amount": 401, "to_wallet_id": driver})
    assert (too_much.status_code, too_much.json()["code"]) == (422, "hold_exceeded")

    rest = await capture(api, hold["id"], {"to_wallet_id": driver})  # all that remains
    assert rest.status_code == 201, rest.text
    assert rest.json()["amount"] == 400
    assert (rest.json()["hold"]["status"], rest.json()["hold"]["captured"]) == ("CAPTURED", 600)

    after = await capture(api, hold["id"], {"amount": 1, "to_wallet_id": driver})
    assert (after.status_code, after.json()["code"]) == (409, "hold_not_active")
    wallet = await api.wallet(payer)
    assert (wallet["balance"], wallet["held"]) == (400, 0)
    assert (await api.wallet(driver))["balance"] == 600
    await assert_ledger_consistent(db, [payer, driver])


async def test_final_capture_releases_the_rest_and_defaults_to_settlement(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    settlement = await settlement_wallet(db)
    before = await balance_of(db, settlement)
    hold = await create_hold(api, payer, 600)

    response = await capture(api, hold["id"], {"amount": 250, "final": True})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["hold"]["status"], body["hold"]["captured"]) == ("CAPTURED", 250)
    payer_entry = next(entry for entry in body["entries"] if entry["wallet_id"] == payer)
    assert (payer_entry["amount"], payer_entry["held_before"], payer_entry["held_after"]) == (
        -250,
        600,
        0,
    )
    wallet = await api.wallet(payer)
    assert (wallet["balance"], wallet["held"], wallet["available"]) == (750, 0, 750)
    assert await balance_of(db, settlement) == before + 250
    await assert_ledger_consistent(db, [payer])


async def test_a_retried_capture_replays_and_moves_money_once(api: Api, owner: str) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    hold = await create_hold(api, payer, 300)
    path = f"/v1/holds/{hold['id']}/capture"
    first = await post(api, path, {"amount": 100}, key="cap-1")
    again = await post(api, path, {"amount": 100}, key="cap-1")
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert (await get_hold(api, hold["id"]))["captured"] == 100
    assert (await api.wallet(payer))["balance"] == 900


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"to_wallet_id": "self"}, "same_wallet"),
        ({"to_wallet_id": str(uuid4())}, "wallet_not_found"),
        ({"to_wallet_id": "eur"}, "currency_mismatch"),
        ({"splits": [{"amount": 10}, {"amount": 20}]}, "validation_error"),
        ({"splits": [{"amount": 10}], "amount": 11}, "validation_error"),
        ({"splits": [{"amount": 10}], "to_wallet_id": "driver"}, "validation_error"),
        ({"splits": []}, "validation_error"),
        ({"final": "yes"}, "validation_error"),
        ({"splits": [{"amount": 2**62}, {"amount": 2**62, "to_wallet_id": "driver"}]}, None),
    ],
)
async def test_bad_captures_are_refused_without_effect(
    api: Api, db: asyncpg.Connection[Any], owner: str, body: dict[str, Any], code: str | None
) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    names = {
        "self": payer,
        "driver": (await api.create_wallet(f"driver-{owner}"))["id"],
        "eur": (await api.create_wallet(f"euro-{owner}", "EUR"))["id"],
    }
    body = {
        key: names.get(value, value) if key == "to_wallet_id" else value
        for key, value in body.items()
    }
    if "splits" in body:
        body["splits"] = [
            {**split, "to_wallet_id": names[split["to_wallet_id"]]}
            if "to_wallet_id" in split
            else split
            for split in body["splits"]
        ]
    hold = await create_hold(api, payer, 500)
    response = await capture(api, hold["id"], body)
    assert 400 <= response.status_code < 500, response.text
    if code is not None:
        assert response.json()["code"] == code
    assert (await get_hold(api, hold["id"]))["captured"] == 0
    assert (await api.wallet(payer))["balance"] == 1_000
    await assert_ledger_consistent(db, [payer])


async def test_adjust_raises_against_available_lowers_and_extends(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    hold = await create_hold(api, payer, 500)
    path = f"/v1/holds/{hold['id']}/adjust"

    refused = await post(api, path, {"amount": 1_001})
    assert (refused.status_code, refused.json()["code"]) == (422, "insufficient_funds")
    raised = await post(api, path, {"amount": 1_000})
    assert raised.status_code == 200, raised.text
    assert (await api.wallet(payer))["available"] == 0

    await capture(api, hold["id"], {"amount": 300})
    below = await post(api, path, {"amount": 300})
    assert (below.status_code, below.json()["code"]) == (422, "hold_amount_below_captured")
    new_deadline = datetime.now(UTC) + timedelta(hours=2)
    lowered = await post(api, path, {"amount": 400, "expires_at": new_deadline.isoformat()})
    assert lowered.status_code == 200, lowered.text
    body = lowered.json()
    assert (body["amount"], body["captured"], body["remaining"]) == (400, 300, 100)
    assert datetime.fromisoformat(body["expires_at"]) == new_deadline
    wallet = await api.wallet(payer)
    assert (wallet["balance"], wallet["held"], wallet["available"]) == (700, 100, 600)

    for bad in (
        {},
        {"expires_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat()},
        {"expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()},
        {"expires_at": "2030-01-01T00:00:00"},  # no time zone
    ):
        response = await post(api, path, bad)
        assert response.status_code == 422, (bad, response.text)
    await assert_ledger_consistent(db, [payer])


async def test_release_is_idempotent_and_refused_for_captured_holds(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    hold = await create_hold(api, payer, 500)
    await capture(api, hold["id"], {"amount": 200})

    released = await post(api, f"/v1/holds/{hold['id']}/release", key=None)
    assert released.status_code == 200, released.text
    assert (released.json()["status"], released.json()["captured"]) == ("RELEASED", 200)
    again = await post(api, f"/v1/holds/{hold['id']}/release", {"reason": "again"}, key=None)
    assert (again.status_code, again.content) == (200, released.content)
    wallet = await api.wallet(payer)
    assert (wallet["balance"], wallet["held"]) == (800, 0)
    journals = await db.fetchval(
        "SELECT count(*) FROM journals WHERE hold_id = $1 AND type = 'HOLD_RELEASE'",
        UUID(hold["id"]),
    )
    assert journals == 1

    captured = await create_hold(api, payer, 100)
    await capture(api, captured["id"], {})
    refused = await post(api, f"/v1/holds/{captured['id']}/release")
    assert (refused.status_code, refused.json()["code"]) == (409, "hold_not_active")
    await assert_ledger_consistent(db, [payer])


async def test_a_hold_past_its_deadline_cannot_be_captured_or_adjusted(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    hold = await create_hold(api, payer, 500)
    await make_due(db, hold["id"])
    for action, body in (("capture", {}), ("adjust", {"amount": 600})):
        response = await post(api, f"/v1/holds/{hold['id']}/{action}", body)
        assert (response.status_code, response.json()["code"]) == (409, "hold_not_active")
    assert (await api.wallet(payer))["balance"] == 1_000

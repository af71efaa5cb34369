"""Promotional credit: granted from PROMOTIONS, spent first (soonest-expiring grant first),
never withdrawn or sent to another owner, and what is left at expiry goes back as breakage."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg
from fastapi import FastAPI

from tests.credits.helpers import assert_promotional_consistent, expire, grant, granted
from tests.holds.helpers import capture, create_hold
from tests.support import Api
from wallet.auth.tokens import Role
from wallet.credits.tasks import expire_due_credits


async def _promotions_balance(db: asyncpg.Connection[Any]) -> int:
    total: int = await db.fetchval(
        "SELECT coalesce(sum(balance), 0)::bigint FROM wallets"
        " WHERE kind = 'PROMOTIONS' AND currency = 'USD'"
    )
    return total


async def test_a_grant_is_promotional_and_not_withdrawable(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 1_000)
    before = await _promotions_balance(db)
    key, expires_at = str(uuid4()), "2099-01-01T00:00:00Z"
    first = await grant(api, wallet_id, 300, key=key, category="VOUCHER", expires_at=expires_at)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["id"]
    assert (body["amount"], body["remaining"], body["status"], body["category"]) == (
        300,
        300,
        "ACTIVE",
        "VOUCHER",
    )
    replay = await grant(api, wallet_id, 300, key=key, category="VOUCHER", expires_at=expires_at)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == body["id"]

    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["promotional"], wallet["withdrawable"]) == (1_300, 300, 1_000)
    assert await _promotions_balance(db) == before - 300

    too_much = await api.move(wallet_id, "withdraw", {"amount": 1_001})
    assert (too_much.status_code, too_much.json()["code"]) == (
        422,
        "insufficient_withdrawable_funds",
    )
    other = (await api.create_wallet(f"{owner}-other"))["id"]
    send = await api.move(wallet_id, "transfer", {"to_wallet_id": other, "amount": 1_001})
    assert (send.status_code, send.json()["code"]) == (422, "insufficient_withdrawable_funds")
    assert (await api.move(wallet_id, "withdraw", {"amount": 1_000})).status_code == 201
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["promotional"], wallet["withdrawable"]) == (300, 300, 0)
    beyond = await api.move(wallet_id, "withdraw", {"amount": 301})
    assert beyond.json()["code"] == "insufficient_funds"  # not even with promotional credit

    listed = await api.http.get(
        f"/v1/wallets/{wallet_id}/credits", headers=api.headers(api.token(owner, Role.USER))
    )
    assert listed.status_code == 200
    assert [g["id"] for g in listed.json()["items"]] == [body["id"]]
    stranger = await api.http.get(
        f"/v1/wallets/{wallet_id}/credits", headers=api.headers(api.token("x", Role.USER))
    )
    assert stranger.status_code == 404
    by_user = await grant(api, wallet_id, 5, token=api.token(owner, Role.USER))
    assert by_user.status_code == 403
    await assert_promotional_consistent(db, [wallet_id])


async def test_a_ride_spends_promotional_first_soonest_expiring_grant_first(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 1_000)
    driver = (await api.create_wallet(f"{owner}-driver"))["id"]
    late = await granted(api, wallet_id, 200, days=60)
    soon = await granted(api, wallet_id, 100, days=5)

    hold = await create_hold(api, wallet_id, 250)
    captured = await capture(api, hold["id"], {"splits": [{"to_wallet_id": driver, "amount": 250}]})
    assert captured.status_code == 201, captured.text

    remaining = dict(
        await db.fetch(
            "SELECT id::text, remaining FROM credit_grants WHERE wallet_id = $1", UUID(wallet_id)
        )
    )
    assert remaining == {soon["id"]: 0, late["id"]: 50}
    statuses = dict(
        await db.fetch(
            "SELECT id::text, status FROM credit_grants WHERE wallet_id = $1", UUID(wallet_id)
        )
    )
    assert statuses == {soon["id"]: "SPENT", late["id"]: "ACTIVE"}
    entry = await db.fetchval(
        """SELECT e.promotional FROM entries e JOIN journals j ON j.id = e.journal_id
           WHERE e.wallet_id = $1 AND j.type = 'CAPTURE'""",
        UUID(wallet_id),
    )
    assert entry == -250
    uses = await db.fetch(
        """SELECT u.grant_id::text, u.amount FROM credit_grant_uses u
           JOIN journals j ON j.id = u.journal_id WHERE j.wallet_id = $1 ORDER BY u.amount""",
        UUID(wallet_id),
    )
    assert [tuple(u) for u in uses] == [(soon["id"], 100), (late["id"], 150)]
    # The driver got cash: what a ride pays is the driver's to withdraw.
    assert (await api.wallet(driver))["withdrawable"] == 250
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["promotional"], wallet["withdrawable"]) == (1_050, 50, 1_000)
    await assert_promotional_consistent(db, [wallet_id, driver])


async def test_expired_credit_goes_back_to_promotions_as_breakage(
    api: Api, app: FastAPI, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    old = await granted(api, wallet_id, 80)
    kept = await granted(api, wallet_id, 40, days=90)
    # A hold reserves all the wallet's available (220) but 30.
    hold = await create_hold(api, wallet_id, 190)
    await expire(db, old["id"])
    before = await _promotions_balance(db)

    await expire_due_credits(app.state.pool)
    # Only what is not reserved went: 30 of the 80; the hold keeps the rest for now.
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["held"], wallet["promotional"]) == (190, 190, 90)
    assert (await api.wallet(wallet_id))["withdrawable"] == 0
    assert await _promotions_balance(db) == before + 30

    released = await api.http.post(
        f"/v1/holds/{hold['id']}/release", json={}, headers=api.headers(key=str(uuid4()))
    )
    assert released.status_code == 200, released.text
    await expire_due_credits(app.state.pool)
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["promotional"], wallet["withdrawable"]) == (140, 40, 100)
    statuses = dict(
        await db.fetch(
            "SELECT id::text, status FROM credit_grants WHERE wallet_id = $1", UUID(wallet_id)
        )
    )
    assert statuses == {old["id"]: "EXPIRED", kept["id"]: "ACTIVE"}
    breakage = await db.fetch(
        """SELECT j.amount, o.event_type FROM journals j
           JOIN outbox_documents o ON o.journal_id = j.id
           WHERE j.wallet_id = $1 AND j.type = 'BREAKAGE' ORDER BY j.id""",
        UUID(wallet_id),
    )
    assert [tuple(b) for b in breakage] == [(30, "credit.expired"), (50, "credit.expired")]
    await assert_promotional_consistent(db, [wallet_id])


async def _refund(api: Api, journal_id: str, amount: int) -> dict[str, Any]:
    response = await api.http.post(
        f"/v1/transactions/{journal_id}/refund",
        json={"amount": amount},
        headers=api.headers(key=str(uuid4())),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_refunds_give_cash_back_first_then_promotional_then_breakage(
    api: Api, app: FastAPI, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 1_000)
    driver = (await api.create_wallet(f"{owner}-driver"))["id"]
    voucher = await granted(api, wallet_id, 100, days=5)
    hold = await create_hold(api, wallet_id, 250)
    ride = await capture(api, hold["id"], {"splits": [{"to_wallet_id": driver, "amount": 250}]})
    assert ride.status_code == 201, ride.text
    ride_id = ride.json()["id"]

    await _refund(api, ride_id, 100)  # cash: the ride's last 150 were cash
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["promotional"], wallet["withdrawable"]) == (950, 0, 950)

    await _refund(api, ride_id, 100)  # 50 cash, then 50 back to the voucher
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["promotional"], wallet["withdrawable"]) == (1_050, 50, 1_000)
    row = await db.fetchrow(
        "SELECT remaining, status FROM credit_grants WHERE id = $1", UUID(voucher["id"])
    )
    assert row is not None and tuple(row) == (50, "ACTIVE")

    await expire(db, voucher["id"])
    before = await _promotions_balance(db)
    await _refund(api, ride_id, 50)  # the voucher has expired: breakage, not the passenger's
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["promotional"]) == (1_050, 50)
    assert await _promotions_balance(db) == before + 50
    await expire_due_credits(app.state.pool)
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["promotional"], wallet["withdrawable"]) == (1_000, 0, 1_000)
    assert (await api.wallet(driver))["balance"] == 0
    await assert_promotional_consistent(db, [wallet_id, driver])

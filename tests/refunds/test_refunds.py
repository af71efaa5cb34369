"""Refunds of transfers and captures: cumulative, capped, idempotent, pro rata for splits."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from tests.holds.helpers import assert_ledger_consistent, capture, create_hold, post
from tests.support import Api
from wallet.auth.tokens import Role


async def _transfer(api: Api, source: str, destination: str, amount: int) -> dict[str, Any]:
    response = await api.move(source, "transfer", {"to_wallet_id": destination, "amount": amount})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_partial_refunds_of_a_transfer_are_cumulative_and_capped(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    payee = await api.funded_wallet(f"payee-{owner}", 500)
    transfer = await _transfer(api, payer, payee, 600)
    path = f"/v1/transactions/{transfer['id']}/refund"

    first = await post(api, path, {"amount": 250, "reference_id": "complaint-1"})
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["type"], body["amount"], body["category"]) == ("REFUND", 250, "REFUND")
    assert body["related_transaction_id"] == transfer["id"]
    assert {e["wallet_id"]: e["amount"] for e in body["entries"]} == {payer: 250, payee: -250}

    too_much = await post(api, path, {"amount": 351})
    assert (too_much.status_code, too_much.json()["code"]) == (422, "refund_exceeded")
    rest = await post(api, path, {})  # no amount: everything left
    assert (rest.status_code, rest.json()["amount"]) == (201, 350)
    nothing_left = await post(api, path, {})
    assert (nothing_left.status_code, nothing_left.json()["code"]) == (422, "refund_exceeded")

    assert (await api.wallet(payer))["balance"] == 1_000
    assert (await api.wallet(payee))["balance"] == 500
    await assert_ledger_consistent(db, [payer, payee])


async def test_a_retried_refund_replays_and_refunds_once(api: Api, owner: str) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    payee = (await api.create_wallet(f"payee-{owner}"))["id"]
    transfer = await _transfer(api, payer, payee, 400)
    path = f"/v1/transactions/{transfer['id']}/refund"
    first = await post(api, path, {"amount": 100}, key="refund-7")
    again = await post(api, path, {"amount": 100}, key="refund-7")
    assert (first.status_code, again.content) == (201, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert (await api.wallet(payee))["balance"] == 300
    reused = await post(api, path, {"amount": 99}, key="refund-7")
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")


async def test_concurrent_refunds_never_exceed_what_was_moved(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    payee = (await api.create_wallet(f"payee-{owner}"))["id"]
    transfer = await _transfer(api, payer, payee, 500)
    responses = await asyncio.gather(
        *(post(api, f"/v1/transactions/{transfer['id']}/refund", {"amount": 70}) for _ in range(20))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 7 + [422] * 13  # 7 x 70 = 490 of 500
    assert (await api.wallet(payee))["balance"] == 10
    await assert_ledger_consistent(db, [payer, payee])


async def test_split_capture_refunds_pro_rata_and_a_full_refund_returns_each_share(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    payer = await api.funded_wallet(owner, 10_000)
    driver = (await api.create_wallet(f"driver-{owner}"))["id"]
    platform = (await api.create_wallet(f"platform-{owner}"))["id"]
    hold = await create_hold(api, payer, 1_000)
    splits = [{"to_wallet_id": driver, "amount": 700}, {"to_wallet_id": platform, "amount": 300}]
    captured = (await capture(api, hold["id"], {"splits": splits})).json()
    path = f"/v1/transactions/{captured['id']}/refund"

    shares = []
    for amount in (1, 1, 333, None):
        response = await post(api, path, {} if amount is None else {"amount": amount})
        assert response.status_code == 201, response.text
        entries = {e["wallet_id"]: e["amount"] for e in response.json()["entries"]}
        shares.append((entries.get(driver, 0), entries.get(platform, 0)))
    # 1 unit: 0.7 vs 0.3 -> driver; then 1 of {699, 300}: 0.7 vs 0.3 -> driver;
    # 333 of {698, 300} (of 998): 232.9 + 100.1 -> the spare unit to the larger remainder,
    # 233 + 100; the rest, 465 + 200, is exactly what each still had.
    assert shares == [(-1, 0), (-1, 0), (-233, -100), (-465, -200)]
    assert (await api.wallet(driver))["balance"] == 0
    assert (await api.wallet(platform))["balance"] == 0
    assert (await api.wallet(payer))["balance"] == 10_000
    await assert_ledger_consistent(db, [payer, driver, platform])


async def test_a_recipient_who_spent_the_money_blocks_the_refund(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    payee = (await api.create_wallet(f"payee-{owner}"))["id"]
    transfer = await _transfer(api, payer, payee, 400)
    await api.move(payee, "withdraw", {"amount": 350})
    response = await post(api, f"/v1/transactions/{transfer['id']}/refund", {"amount": 100})
    assert (response.status_code, response.json()["code"]) == (422, "insufficient_funds")
    assert (await api.wallet(payer))["balance"] == 600
    await assert_ledger_consistent(db, [payer, payee])


async def test_only_transfers_and_captures_of_known_transactions_are_refundable(
    api: Api, owner: str
) -> None:
    wallet_id = await api.create_wallet(owner)
    deposit = await api.move(wallet_id["id"], "deposit", {"amount": 100})
    response = await post(api, f"/v1/transactions/{deposit.json()['id']}/refund", {})
    assert (response.status_code, response.json()["code"]) == (422, "transaction_not_refundable")
    missing = await post(api, f"/v1/transactions/{uuid4()}/refund", {})
    assert (missing.status_code, missing.json()["code"]) == (404, "transaction_not_found")
    malformed = await post(api, "/v1/transactions/123/refund", {})
    assert malformed.status_code == 422


@pytest.mark.parametrize("body", [{"amount": 0}, {"amount": -1}, {"amount": "5"}, {"x": 1}])
async def test_bad_refund_bodies_are_422(api: Api, body: dict[str, Any]) -> None:
    response = await post(api, f"/v1/transactions/{uuid4()}/refund", body)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


async def test_users_may_not_refund(api: Api, owner: str) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    payee = (await api.create_wallet(f"payee-{owner}"))["id"]
    transfer = await _transfer(api, payer, payee, 100)
    user = api.token(owner, Role.USER)
    response = await post(api, f"/v1/transactions/{transfer['id']}/refund", {}, token=user)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    journals = await api.http.get(f"/v1/wallets/{payer}/ledger", headers=api.headers())
    assert [item["type"] for item in journals.json()["items"]] == ["TRANSFER", "DEPOSIT"]


async def test_equal_shares_give_the_odd_unit_from_the_lower_wallet_id(
    api: Api, owner: str
) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    first, second = sorted(
        [(await api.create_wallet(f"{name}-{owner}"))["id"] for name in ("a", "b")], key=UUID
    )
    hold = await create_hold(api, payer, 100)
    splits = [{"to_wallet_id": second, "amount": 50}, {"to_wallet_id": first, "amount": 50}]
    captured = (await capture(api, hold["id"], {"splits": splits})).json()
    response = await post(api, f"/v1/transactions/{captured['id']}/refund", {"amount": 1})
    assert response.status_code == 201, response.text
    assert {e["wallet_id"]: e["amount"] for e in response.json()["entries"]} == {
        payer: 1,
        first: -1,
    }

"""Reversing a transaction goes through the same four-eyes approval."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg

from tests.admin.flows import Admins, findings_about
from tests.support import Api


async def test_a_transfer_is_reversed_after_a_second_admin_approves(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    admins = Admins(api)
    payer = await api.funded_wallet(f"{owner}-payer", 1_000)
    driver = (await api.create_wallet(f"{owner}-driver"))["id"]
    paid = await api.move(payer, "transfer", {"to_wallet_id": driver, "amount": 250})
    transfer_id = paid.json()["id"]

    proposed = await admins.post(
        f"/v1/admin/transactions/{transfer_id}/reverse",
        {"reason": "ride cancelled"},
        token=admins.alice,
        key=str(uuid4()),
    )
    assert proposed.status_code == 201, proposed.text
    reversal = proposed.json()
    assert (reversal["kind"], reversal["wallet_id"], reversal["amount"]) == ("REVERSAL", payer, 250)
    assert (await api.wallet(driver))["balance"] == 250  # nothing moves before approval
    assert (await admins.decide(reversal["id"], "approve", token=admins.alice)).status_code == 403

    approved = await admins.decide(reversal["id"], "approve", token=admins.bob)
    assert approved.status_code == 200, approved.text

    assert (await api.wallet(payer))["balance"] == 1_000
    assert (await api.wallet(driver))["balance"] == 0
    journal = await db.fetchrow(
        "SELECT type, related_journal_id FROM journals WHERE id = $1",
        approved.json()["applied_transaction_id"],
    )
    assert journal is not None
    assert (journal["type"], str(journal["related_journal_id"])) == ("REVERSAL", transfer_id)

    twice = await admins.post(
        f"/v1/admin/transactions/{transfer_id}/reverse",
        {"reason": "again"},
        token=admins.bob,
        key=str(uuid4()),
    )
    assert twice.status_code == 409
    assert twice.json()["code"] == "transaction_already_reversed"
    assert findings_about(await admins.reconcile(), payer, driver) == []


async def test_a_reversal_that_would_overdraw_waits(api: Api, owner: str) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 100)
    deposit_id = (await api.move(wallet_id, "deposit", {"amount": 50})).json()["id"]
    await api.move(wallet_id, "withdraw", {"amount": 120})
    reversal = (
        await admins.post(
            f"/v1/admin/transactions/{deposit_id}/reverse",
            {"reason": "chargeback"},
            token=admins.alice,
            key=str(uuid4()),
        )
    ).json()

    refused = await admins.decide(reversal["id"], "approve", token=admins.bob)

    assert refused.status_code == 422
    assert refused.json()["code"] == "insufficient_funds"
    assert (await api.wallet(wallet_id))["balance"] == 30


async def test_corrections_and_unknown_transactions_are_not_reversed(api: Api, owner: str) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 100)
    adjustment = (await admins.propose({"wallet_id": wallet_id, "amount": 3, "reason": "r"})).json()
    applied = (await admins.decide(adjustment["id"], "approve", token=admins.bob)).json()

    for transaction_id, status, code in [
        (applied["applied_transaction_id"], 422, "transaction_not_reversible"),
        (str(uuid4()), 404, "transaction_not_found"),
    ]:
        response = await admins.post(
            f"/v1/admin/transactions/{transaction_id}/reverse",
            {"reason": "r"},
            token=admins.alice,
            key=str(uuid4()),
        )
        assert (response.status_code, response.json()["code"]) == (status, code)

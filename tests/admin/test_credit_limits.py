"""Credit limits: available may go down to -credit_limit, set by an admin with a reason; the
database holds the bound whoever writes."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from tests.admin.flows import Admins
from tests.support import Api


async def _limit(admins: Admins, wallet_id: str, limit: int, reason: str = "r") -> httpx.Response:
    headers = admins.api.headers(admins.alice)
    return await admins.api.http.put(
        f"/v1/admin/wallets/{wallet_id}/credit-limit",
        json={"credit_limit": limit, "reason": reason},
        headers=headers,
    )


async def test_a_wallet_spends_down_to_its_credit_limit_and_no_further(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 100)
    other = (await api.create_wallet(f"{owner}-other"))["id"]
    assert (await api.wallet(wallet_id))["credit_limit"] == 0

    over = await api.move(wallet_id, "withdraw", {"amount": 101})
    assert (over.status_code, over.json()["code"]) == (422, "insufficient_funds")

    answer = await _limit(admins, wallet_id, 250, "driver collects cash rides")
    assert answer.status_code == 200, answer.text
    assert answer.json()["credit_limit"] == 250

    spend = await api.move(wallet_id, "transfer", {"to_wallet_id": other, "amount": 300})
    assert spend.status_code == 201, spend.text
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["available"]) == (-200, -200)
    hold = await api.http.post(
        f"/v1/wallets/{wallet_id}/holds",
        json={"amount": 50},
        headers=api.headers(api.token(), key=str(uuid4())),
    )
    assert hold.status_code == 201, hold.text
    assert (await api.wallet(wallet_id))["available"] == -250
    beyond = await api.move(wallet_id, "withdraw", {"amount": 1})
    assert (beyond.status_code, beyond.json()["code"]) == (422, "insufficient_funds")

    # Lowering the limit below what is already used is refused; the debt stays.
    lower = await _limit(admins, wallet_id, 100)
    assert (lower.status_code, lower.json()["code"]) == (422, "insufficient_funds")
    assert (await _limit(admins, wallet_id, 250)).status_code == 200  # same limit: no-op

    actions = await db.fetch(
        "SELECT action, reason, details FROM admin_actions WHERE wallet_id = $1 ORDER BY id",
        wallet_id,
    )
    assert [(a["action"], a["reason"]) for a in actions] == [
        ("wallet.credit_limit.changed", "driver collects cash rides")
    ]
    assert json.loads(actions[0]["details"]) == {"from_credit_limit": 0, "to_credit_limit": 250}
    published = await db.fetchval(
        """SELECT payload->'wallet'->>'credit_limit' FROM outbox
           WHERE wallet_id = $1 AND event_type = 'wallet.credit_limit.changed'""",
        wallet_id,
    )
    assert published == "250"


async def test_the_database_bounds_available_by_the_credit_limit(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 10)
    await db.execute("UPDATE wallets SET credit_limit = 5 WHERE id = $1", wallet_id)
    await db.execute("UPDATE wallets SET balance = -5 WHERE id = $1", wallet_id)
    with pytest.raises(asyncpg.CheckViolationError, match="available_within_credit"):
        await db.execute("UPDATE wallets SET balance = -6 WHERE id = $1", wallet_id)
    await db.execute("UPDATE wallets SET balance = 10 WHERE id = $1", wallet_id)  # as it was
    with pytest.raises(asyncpg.CheckViolationError, match="credit_limit_not_negative"):
        await db.execute("UPDATE wallets SET credit_limit = -1 WHERE id = $1", wallet_id)


async def test_only_admins_set_credit_limits(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 10)
    answer = await api.http.put(
        f"/v1/admin/wallets/{wallet_id}/credit-limit",
        json={"credit_limit": 5, "reason": "r"},
        headers=api.headers(api.token()),
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
    missing = await _limit(Admins(api), "00000000-0000-7000-8000-000000000000", 5)
    assert (missing.status_code, missing.json()["code"]) == (404, "wallet_not_found")

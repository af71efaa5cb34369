"""Promotional credit calls and the invariant every test checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import httpx

from tests.support import Api


async def grant(
    api: Api,
    wallet_id: str,
    amount: int,
    *,
    days: float = 30,
    category: str = "PROMOTION",
    key: str | None = None,
    token: str | None = None,
    expires_at: str | None = None,
) -> httpx.Response:
    expires_at = expires_at or (datetime.now(UTC) + timedelta(days=days)).isoformat()
    return await api.http.post(
        f"/v1/wallets/{wallet_id}/credits",
        json={"amount": amount, "expires_at": expires_at, "category": category, "campaign": "c1"},
        headers=api.headers(token, key=key or str(uuid4())),
    )


async def granted(api: Api, wallet_id: str, amount: int, *, days: float = 30) -> dict[str, Any]:
    response = await grant(api, wallet_id, amount, days=days)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def expire(db: asyncpg.Connection[Any], grant_id: str) -> None:
    """Move a grant's expiry into the past, behind the service's back."""
    await db.execute(
        "UPDATE credit_grants SET expires_at = now() - interval '1 second' WHERE id = $1",
        grant_id,
    )


async def assert_promotional_consistent(db: asyncpg.Connection[Any], wallet_ids: list[str]) -> None:
    """Per wallet: promotional = the sum of its ACTIVE grants' remaining = the sum of its
    entries' promotional changes; balance = the sum of its entries."""
    rows = await db.fetch(
        """SELECT w.id, w.promotional, w.balance,
                  (SELECT coalesce(sum(remaining), 0) FROM credit_grants g
                   WHERE g.wallet_id = w.id AND g.status = 'ACTIVE') AS live,
                  (SELECT coalesce(sum(promotional), 0) FROM entries e
                   WHERE e.wallet_id = w.id) AS entry_promotional,
                  (SELECT coalesce(sum(amount), 0) FROM entries e
                   WHERE e.wallet_id = w.id) AS entry_balance
           FROM wallets w WHERE w.id = ANY($1::uuid[])""",
        wallet_ids,
    )
    assert len(rows) == len(wallet_ids)
    for row in rows:
        assert row["promotional"] == row["live"] == row["entry_promotional"], dict(row)
        assert row["balance"] == row["entry_balance"], dict(row)
        assert row["promotional"] >= 0, dict(row)

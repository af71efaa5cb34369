"""Hold calls and ledger invariants shared by the hold and refund tests."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx

from tests.support import Api


async def post(
    api: Api,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    key: str | None = "fresh",
) -> httpx.Response:
    """POST with a fresh Idempotency-Key by default (``key=None`` sends none)."""
    chosen = str(uuid4()) if key == "fresh" else key
    return await api.http.post(path, json=body, headers=api.headers(token, key=chosen))


async def create_hold(
    api: Api, wallet_id: str, amount: int, *, token: str | None = None, **fields: Any
) -> dict[str, Any]:
    response = await post(
        api, f"/v1/wallets/{wallet_id}/holds", {"amount": amount, **fields}, token=token
    )
    assert response.status_code == 201, response.text
    hold: dict[str, Any] = response.json()
    return hold


async def capture(api: Api, hold_id: str, body: dict[str, Any]) -> httpx.Response:
    return await post(api, f"/v1/holds/{hold_id}/capture", body)


async def get_hold(api: Api, hold_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/v1/holds/{hold_id}", headers=api.headers())
    assert response.status_code == 200, response.text
    hold: dict[str, Any] = response.json()
    return hold


async def make_due(db: asyncpg.Connection[Any], hold_id: str, *, seconds_ago: float = 1) -> None:
    """Move a hold's deadline into the past, behind the service's back."""
    await db.execute(
        "UPDATE holds SET expires_at = now() - make_interval(secs => $2) WHERE id = $1",
        UUID(hold_id),
        seconds_ago,
    )


async def settlement_wallet(db: asyncpg.Connection[Any], currency: str = "USD") -> UUID:
    """The settlement wallet's first shard: stands for the whole wallet in balance_of."""
    wallet_id: UUID = await db.fetchval("SELECT system_wallet_id('SETTLEMENT', $1)", currency)
    return wallet_id


async def system_wallet_shards(db: asyncpg.Connection[Any], wallet_id: UUID | str) -> set[str]:
    """Every shard of the system wallet that ``wallet_id`` is a shard of."""
    rows = await db.fetch(
        """SELECT s.id::text FROM wallets w JOIN wallets s
             ON s.kind = w.kind AND s.currency = w.currency
           WHERE w.id = $1 AND w.kind <> 'USER'""",
        UUID(str(wallet_id)),
    )
    return {row["id"] for row in rows}


async def balance_of(db: asyncpg.Connection[Any], wallet_id: UUID | str) -> int:
    """A wallet's balance; a system wallet's is the sum of its shards."""
    balance: int = await db.fetchval(
        """SELECT sum(s.balance)::bigint FROM wallets w JOIN wallets s
             ON s.id = w.id OR (w.kind <> 'USER' AND s.kind = w.kind AND s.currency = w.currency)
           WHERE w.id = $1""",
        UUID(str(wallet_id)),
    )
    return balance


async def assert_ledger_consistent(db: asyncpg.Connection[Any], wallet_ids: list[str]) -> None:
    """Every wallet's balance is the sum of its entries, its held is what its HELD holds still
    reserve, and the books as a whole sum to zero."""
    rows = await db.fetch(
        """
        SELECT w.id, w.balance, w.held,
               (SELECT coalesce(sum(amount), 0) FROM entries WHERE wallet_id = w.id) AS posted,
               (SELECT coalesce(sum(amount - captured), 0) FROM holds
                WHERE wallet_id = w.id AND status = 'HELD') AS reserved
        FROM wallets w WHERE w.id = ANY($1::uuid[])
        """,
        [UUID(wallet_id) for wallet_id in wallet_ids],
    )
    assert len(rows) == len(set(wallet_ids))
    for row in rows:
        assert row["balance"] == row["posted"], dict(row)
        assert row["held"] == row["reserved"], dict(row)
        assert row["balance"] - row["held"] >= 0, dict(row)
    assert await db.fetchval("SELECT coalesce(sum(amount), 0) FROM entries") == 0

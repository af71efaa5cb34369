"""Every list route pages the same way: {items, next_cursor}, newest (or first) first, an
opaque keyset cursor, a capped limit; every row exactly once."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import httpx

from tests.admin.flows import Admins
from tests.support import Api
from wallet.auth.tokens import Role
from wallet.paging import encode_cursor


async def _all_pages(
    api: Api, path: str, *, token: str | None = None, limit: int = 2, **params: Any
) -> tuple[list[str], int]:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response: httpx.Response = await api.http.get(
            path, params=query, headers=api.headers(token)
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= limit
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages


async def test_wallets_page(api: Api, owner: str) -> None:
    created = [
        (await api.create_wallet(owner, c))["id"] for c in ("USD", "EUR", "GBP", "JPY", "CHF")
    ]
    seen, pages = await _all_pages(api, "/v1/wallets", owner_id=owner)
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))
    assert pages == 3
    mine, _ = await _all_pages(api, "/v1/wallets", token=api.token(owner, Role.USER), limit=10)
    assert sorted(mine) == sorted(created)
    bad = await api.http.get(
        "/v1/wallets", params={"owner_id": owner, "cursor": "junk"}, headers=api.headers()
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_cursor")


async def test_adjustments_page(api: Api, owner: str, db: asyncpg.Connection[Any]) -> None:
    admins = Admins(api)
    wallet = await api.funded_wallet(owner, 100)
    for n in range(5):
        proposed = await admins.post(
            "/v1/admin/adjustments",
            {"wallet_id": wallet, "amount": n + 1, "reason": f"paging test {n}"},
            token=admins.alice,
            key=str(uuid4()),
        )
        assert proposed.status_code == 201, proposed.text
    seen, _ = await _all_pages(api, "/v1/admin/adjustments", token=admins.alice)
    expected = [str(r["id"]) for r in await db.fetch("SELECT id FROM adjustments ORDER BY id DESC")]
    assert seen == expected  # newest first, each once


async def test_reconciliations_page(api: Api, db: asyncpg.Connection[Any]) -> None:
    admins = Admins(api)
    seen, _ = await _all_pages(api, "/v1/admin/reconciliations", token=admins.alice, limit=1)
    expected = [
        str(r["id"]) for r in await db.fetch("SELECT id FROM reconciliation_runs ORDER BY id DESC")
    ]
    assert seen == expected
    # A cursor of one list means nothing to another.
    crossed = await api.http.get(
        "/v1/admin/reconciliations",
        params={"cursor": encode_cursor("ad", uuid4())},
        headers=api.headers(admins.alice),
    )
    assert (crossed.status_code, crossed.json()["code"]) == (400, "invalid_cursor")

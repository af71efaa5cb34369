"""Several server processes posting into the same wallets: no deadlock, no lost or created
money, every request settled once, and the books (chains included) verify."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx

from tests.server import env_for, running_server
from tests.support import Api
from wallet.audit import repository as audit_repository
from wallet.config import Settings

WALLETS = 6
CLIENTS = 48
REQUESTS_PER_CLIENT = 25


async def test_two_server_processes_conserve_money(
    api: Api,
    owner: str,
    settings: Settings,
    database_url: str,
    db: asyncpg.Connection[Any],
    tmp_path: Path,
) -> None:
    wallets = [await api.funded_wallet(f"{owner}-{n}", 500) for n in range(WALLETS)]
    env = env_for(settings, migration_database_url=database_url)
    env.update({"WALLET_RATE_LIMIT_USER": "", "WALLET_RATE_LIMIT_PLATFORM": ""})
    statuses: Counter[int] = Counter()
    moved = Counter[str]()  # net external money per wallet: deposits minus withdrawals

    async def client(http: httpx.AsyncClient, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(REQUESTS_PER_CLIENT):
            source, target = rng.sample(wallets, 2)
            kind = rng.choice(["transfer", "transfer", "transfer", "deposit", "withdraw"])
            amount = rng.randint(1, 60)
            body: dict[str, Any] = {"amount": amount}
            if kind == "transfer":
                body["to_wallet_id"] = target
            response = await http.post(
                f"/v1/wallets/{source}/{kind}", json=body, headers=api.headers(key=str(uuid4()))
            )
            statuses[response.status_code] += 1
            if response.status_code == 201 and kind != "transfer":
                moved[source] += amount if kind == "deposit" else -amount

    with running_server(env, log=tmp_path / "server.log", extra_args=("--workers", "2")) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            await asyncio.gather(*(client(http, seed) for seed in range(CLIENTS)))

    assert set(statuses) <= {201, 422}, statuses  # posted, or insufficient_funds
    assert statuses[201] > CLIENTS * REQUESTS_PER_CLIENT // 2
    rows = await db.fetch(
        "SELECT id::text, balance FROM wallets WHERE id = ANY($1::uuid[])",
        [UUID(w) for w in wallets],
    )
    balances = {row["id"]: row["balance"] for row in rows}
    assert sum(balances.values()) == WALLETS * 500 + sum(moved.values())
    assert all(balance >= 0 for balance in balances.values())
    assert await db.fetchval("SELECT sum(balance) FROM wallets WHERE currency = 'USD'") == 0
    assert await audit_repository.find_tampering(db) == []

"""A database outage under load: 503 with Retry-After, never 500, and it heals by itself.

A dedicated embedded server is stopped (immediate: sessions are cut mid-statement) and
started again while clients keep transferring. Afterwards every request is retried with its
own Idempotency-Key: each settles exactly once and the books still balance.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import httpx
import psycopg
import pytest

from tests.db.dedicated_server import DedicatedServer
from tests.support import started_app
from wallet.auth.tokens import Role, issue_token
from wallet.config import Settings
from wallet.db.embedded import ensure_database
from wallet.db.migrations import apply_migrations

CLIENTS = 16
PAIRS = 16
OUTAGE_SECONDS = 3.0
FUNDING = 1_000_000


@pytest.fixture(scope="module")
def dedicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DedicatedServer]:
    server = DedicatedServer.start_in(Path(tmp_path_factory.mktemp("outage")))
    ensure_database(server.url("postgres"), "wallet")
    apply_migrations(server.url("wallet"))
    yield server
    server.stop_if_running()  # restarted by the test: a postmaster the wheel does not know


@dataclass
class Sent:
    key: str
    source: str
    target: str
    statuses: list[int] = field(default_factory=list)


@dataclass
class Observed:
    during_outage: Counter[int] = field(default_factory=Counter)
    outside_outage: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    readiness: list[int] = field(default_factory=list)


def _check_answer(response: httpx.Response, observed: Observed) -> None:
    if response.status_code == 503:
        body = response.json()
        if (
            response.headers.get("content-type") != "application/problem+json"
            or body.get("code") != "database_unavailable"
            or not response.headers.get("retry-after", "").isdigit()
            or "same Idempotency-Key is safe" not in body.get("detail", "")
        ):
            observed.problems.append(f"bad 503: {response.headers} {response.text}")
    elif response.status_code != 201:
        observed.problems.append(f"{response.status_code}: {response.text}")


async def test_outage_answers_503_and_every_retry_settles_once(
    dedicated: DedicatedServer, settings: Settings
) -> None:
    app_settings = settings.model_copy(
        update={"database_url": dedicated.url("wallet"), "pool_max_size": 8, "pool_min_size": 2}
    )
    token = issue_token(settings=app_settings, subject="ride-platform", roles=[Role.PAYMENTS])
    auth = {"Authorization": f"Bearer {token}"}
    observed = Observed()
    sent: list[Sent] = []
    outage = {"on": False}

    async with started_app(app_settings) as client:
        pairs = [(await _funded(client, auth), await _wallet(client, auth)) for _ in range(PAIRS)]
        stop_load = asyncio.Event()

        async def load(worker: int) -> None:
            n = 0
            while not stop_load.is_set():
                source, target = pairs[(worker + n) % PAIRS]
                n += 1
                request = Sent(key=str(uuid4()), source=source, target=target)
                sent.append(request)
                response = await _transfer(client, auth, request)
                request.statuses.append(response.status_code)
                bucket = observed.during_outage if outage["on"] else observed.outside_outage
                bucket[response.status_code] += 1
                _check_answer(response, observed)

        async def watch_readiness() -> None:
            while not stop_load.is_set():
                observed.readiness.append((await client.get("/readyz")).status_code)
                await asyncio.sleep(0.1)

        tasks = [asyncio.create_task(load(i)) for i in range(CLIENTS)]
        watcher = asyncio.create_task(watch_readiness())
        await asyncio.sleep(1.0)
        outage["on"] = True
        await asyncio.to_thread(dedicated.stop_immediately)
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(dedicated.start)
        outage["on"] = False
        recovered = await _ready_within(client, seconds=30)
        await asyncio.sleep(1.0)  # load goes on against the recovered pool
        stop_load.set()
        await asyncio.gather(*tasks, watcher)

        assert recovered, "/readyz did not answer 200 again by itself"
        assert observed.problems == []
        assert observed.during_outage[503] > 0, observed
        assert 503 in observed.readiness and observed.readiness[-1] == 200
        # Retrying every request with its own key settles each one, exactly once.
        for request in sent:
            response = await _transfer(client, auth, request)
            assert response.status_code == 201, response.text
    print(
        f"\noutage figure: during={dict(observed.during_outage)} "
        f"outside={dict(observed.outside_outage)} requests={len(sent)}"
    )
    _assert_books(dedicated.url("wallet"), sent)


def _assert_books(url: str, sent: list[Sent]) -> None:
    with psycopg.connect(url) as conn:
        per_key: dict[str, int] = dict(
            conn.execute(
                "SELECT reference_id, count(*) FROM journals WHERE type = 'TRANSFER'"
                " GROUP BY reference_id"
            ).fetchall()
        )
        balances = conn.execute(
            "SELECT sum(balance) FILTER (WHERE kind = 'USER'), sum(balance) FROM wallets"
        ).fetchone()
    assert {request.key: per_key.get(request.key) for request in sent} == {
        request.key: 1 for request in sent
    }
    assert balances is not None
    assert balances == (PAIRS * FUNDING, 0)  # transfers move money, never make or lose it


async def _transfer(
    client: httpx.AsyncClient, auth: dict[str, str], request: Sent
) -> httpx.Response:
    return await client.post(
        f"/v1/wallets/{request.source}/transfer",
        json={"to_wallet_id": request.target, "amount": 1, "reference_id": request.key},
        headers={**auth, "Idempotency-Key": request.key},
    )


async def _wallet(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    response = await client.post(
        "/v1/wallets", json={"owner_id": f"o-{uuid4().hex[:10]}", "currency": "USD"}, headers=auth
    )
    assert response.status_code == 201, response.text
    wallet_id: str = response.json()["id"]
    return wallet_id


async def _funded(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    wallet_id = await _wallet(client, auth)
    response = await client.post(
        f"/v1/wallets/{wallet_id}/deposit",
        json={"amount": FUNDING},
        headers={**auth, "Idempotency-Key": str(uuid4())},
    )
    assert response.status_code == 201, response.text
    return wallet_id


async def _ready_within(client: httpx.AsyncClient, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (await client.get("/readyz")).status_code == 200:
            return True
        await asyncio.sleep(0.2)
    return False

"""Payout runs: each payout moves off the wallet, goes to the rail once per payout id, and
lands in EXTERNAL (PAID) or back in the wallet (FAILED); a crash anywhere resumes without
paying twice. The fake rail (helpers) is the only stand-in: it keeps what a real rail keeps."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from fastapi import FastAPI

from tests.credits.helpers import granted
from tests.payouts.helpers import FakeRail
from tests.support import Api
from wallet.auth.tokens import Role
from wallet.payouts.rail import HttpRail, PayoutInstruction, RailAnswer, parse_answer
from wallet.payouts.service import process_due, start_scheduled_run


async def _start(api: Api, **body: Any) -> dict[str, Any]:
    response = await api.http.post(
        "/v1/admin/payout-runs",
        json=body,
        headers=api.headers(api.token("admin-alice", Role.ADMIN)),
    )
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()
    return run


async def _run(api: Api, run_id: str) -> dict[str, Any]:
    response = await api.http.get(
        f"/v1/admin/payout-runs/{run_id}", headers=api.headers(api.token("a", Role.ADMIN))
    )
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


async def _balance(db: asyncpg.Connection[Any], kind: str) -> int:
    total: int = await db.fetchval(
        "SELECT coalesce(sum(balance), 0)::bigint FROM wallets"
        " WHERE kind = $1 AND currency = 'EUR'",
        kind,
    )
    return total


async def test_a_run_pays_fails_and_retries_each_payout_once(
    api: Api, app: FastAPI, owner: str, db: asyncpg.Connection[Any]
) -> None:
    prefix = f"driver-{uuid4().hex[:8]}-"
    paid = await api.funded_wallet(f"{prefix}paid", 5_000, "EUR")
    refused = await api.funded_wallet(f"{prefix}refused", 3_000, "EUR")
    slow = await api.funded_wallet(f"{prefix}slow", 2_000, "EUR")
    small = await api.funded_wallet(f"{prefix}small", 50, "EUR")
    await granted(api, paid, 700)  # promotional credit is never paid out
    external = await _balance(db, "EXTERNAL")

    run = await _start(api, currency="EUR", threshold=100, owner_prefix=prefix)
    assert run["payouts"] == {"PENDING": 3, "SENT": 0, "PAID": 0, "FAILED": 0}
    assert run["totals"]["PENDING"] == 10_000 and run["status"] == "OPEN"
    wallet = await api.wallet(paid)
    assert (wallet["balance"], wallet["promotional"]) == (700, 700)
    assert (await api.wallet(small))["balance"] == 50

    rail = FakeRail(
        answers={
            f"{prefix}refused": RailAnswer("FAILED", "account closed"),
            f"{prefix}slow": RailAnswer("UNKNOWN"),
        }
    )
    assert await process_due(app.state.pool, rail, retry_after_seconds=3600) >= 2
    run = await _run(api, run["id"])
    assert run["payouts"] == {"PENDING": 0, "SENT": 1, "PAID": 1, "FAILED": 1}
    assert (await api.wallet(refused))["balance"] == 3_000  # back, as cash
    assert (await api.wallet(refused))["withdrawable"] == 3_000
    assert await _balance(db, "EXTERNAL") == external + 5_000

    rail.answers[f"{prefix}slow"] = RailAnswer("PAID")
    await process_due(app.state.pool, rail, retry_after_seconds=3600)  # not due yet
    assert (await _run(api, run["id"]))["payouts"]["SENT"] == 1
    await process_due(app.state.pool, rail, retry_after_seconds=0)
    run = await _run(api, run["id"])
    assert run["payouts"] == {"PENDING": 0, "SENT": 0, "PAID": 2, "FAILED": 1}
    assert run["totals"]["PAID"] == 7_000 and run["status"] == "DONE"
    assert (await api.wallet(slow))["balance"] == 0
    assert await _balance(db, "EXTERNAL") == external + 7_000
    ids = await db.fetch("SELECT id FROM payouts WHERE run_id = $1", UUID(run["id"]))
    assert all(rail.paid.get(row["id"], 1) == 1 for row in ids)
    events = await db.fetch(
        "SELECT event_type FROM outbox_documents WHERE wallet_id = $1 ORDER BY sequence", UUID(paid)
    )
    assert [e["event_type"] for e in events][-2:] == ["payout.pending", "payout.paid"]


async def test_a_crash_after_the_rail_paid_resumes_without_paying_twice(
    api: Api, app: FastAPI, owner: str, db: asyncpg.Connection[Any]
) -> None:
    prefix = f"driver-{uuid4().hex[:8]}-"
    wallet_id = await api.funded_wallet(f"{prefix}a", 1_000, "EUR")
    run = await _start(
        api, currency="EUR", threshold=0, wallet_ids=[wallet_id], owner_prefix=prefix
    )
    rail = FakeRail(crash_after_paying=True)
    with pytest.raises(RuntimeError):
        await process_due(app.state.pool, rail, retry_after_seconds=0)
    assert (await _run(api, run["id"]))["payouts"]["SENT"] == 1

    rail.crash_after_paying = False
    # Several workers resume at once: the rail is asked again with the same payout id.
    await asyncio.gather(
        *(process_due(app.state.pool, rail, retry_after_seconds=0) for _ in range(3))
    )
    run = await _run(api, run["id"])
    assert run["payouts"]["PAID"] == 1
    (payout_id,) = [
        row["id"]
        for row in await db.fetch("SELECT id FROM payouts WHERE run_id = $1", UUID(run["id"]))
    ]
    assert rail.paid == {payout_id: 1}
    assert set(rail.asked) == {payout_id}
    journals = await db.fetchval(
        "SELECT count(*) FROM journals WHERE type = 'PAYOUT_PAID' AND reference_id = $1",
        str(payout_id),
    )
    assert journals == 1


async def test_a_run_needs_a_selection(api: Api) -> None:
    response = await api.http.post(
        "/v1/admin/payout-runs",
        json={"currency": "EUR", "threshold": 0},
        headers=api.headers(api.token("admin-alice", Role.ADMIN)),
    )
    assert response.status_code == 422
    missing = await api.http.get(
        f"/v1/admin/payout-runs/{uuid4()}", headers=api.headers(api.token("a", Role.ADMIN))
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "payout_run_not_found")
    forbidden = await api.http.post(
        "/v1/admin/payout-runs", json={"currency": "EUR", "threshold": 0}, headers=api.headers()
    )
    assert forbidden.status_code == 403


def test_only_an_exact_paid_or_failed_settles() -> None:
    assert parse_answer({"status": "PAID"}) == RailAnswer("PAID")
    assert parse_answer({"status": "FAILED", "reason": "x"}) == RailAnswer("FAILED", "x")
    others: tuple[object, ...] = ({"status": "paid"}, {}, [], None, "PAID")
    for other in others:
        assert parse_answer(other).status == "UNKNOWN"


async def test_an_unreachable_rail_is_unknown() -> None:
    rail = HttpRail("http://127.0.0.1:9/payouts", timeout_seconds=1)
    answer = await rail.send(
        PayoutInstruction(
            payout_id=uuid4(), wallet_id=uuid4(), owner_id="d", amount=1, currency="EUR"
        )
    )
    assert answer.status == "UNKNOWN"


async def test_the_scheduled_run_starts_once_per_interval(
    api: Api, app: FastAPI, db: asyncpg.Connection[Any]
) -> None:
    prefix = f"sched-{uuid4().hex[:8]}-"
    wallet_id = await api.funded_wallet(f"{prefix}a", 900, "CHF")
    settings = app.state.settings.model_copy(
        update={
            "payout_schedule_currency": "CHF",
            "payout_schedule_threshold": 100,
            "payout_schedule_owner_prefix": prefix,
            "payout_schedule_interval_hours": 1.0,
        }
    )
    started = await asyncio.gather(
        *(start_scheduled_run(app.state.pool, settings=settings) for _ in range(3))
    )
    # Several workers at once: one starts the run (the session's database has no CHF run).
    assert sorted(started, key=lambda n: n is None) == [1, None, None]
    assert (await api.wallet(wallet_id))["balance"] == 0  # moved into PAYOUTS, once
    assert await start_scheduled_run(app.state.pool, settings=settings) is None  # not due
    runs = await db.fetchval("SELECT count(*) FROM payouts WHERE wallet_id = $1", UUID(wallet_id))
    assert runs == 1

"""Hold and refund calls leave an audit record, in the same statement as their effect."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
from fastapi import FastAPI

from tests.support import Api
from wallet.audit import service as audit_service
from wallet.holds.tasks import expire_due_holds


async def test_hold_steps_and_refunds_are_audited(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 1000)
    driver = (await api.create_wallet(f"{owner}-driver"))["id"]
    hold_key = str(uuid4())
    hold = await api.http.post(
        f"/v1/wallets/{wallet_id}/holds", json={"amount": 500}, headers=api.headers(key=hold_key)
    )
    replay = await api.http.post(
        f"/v1/wallets/{wallet_id}/holds", json={"amount": 500}, headers=api.headers(key=hold_key)
    )
    assert replay.content == hold.content
    hold_id = hold.json()["id"]
    capture = await api.http.post(
        f"/v1/holds/{hold_id}/capture",
        json={"amount": 900, "to_wallet_id": driver},
        headers=api.headers(key=str(uuid4())),
    )
    assert capture.json()["code"] == "hold_exceeded"
    capture = await api.http.post(
        f"/v1/holds/{hold_id}/capture",
        json={"amount": 400, "to_wallet_id": driver, "final": True},
        headers=api.headers(key=str(uuid4())),
    )
    refund = await api.http.post(
        f"/v1/transactions/{capture.json()['id']}/refund",
        json={"amount": 100},
        headers=api.headers(key=str(uuid4())),
    )
    assert refund.status_code == 201

    rows = await db.fetch(
        """SELECT action, resource_type, resource_id, outcome, actor, trace_id
           FROM audit_log WHERE resource_id = ANY($1::text[]) AND action LIKE ANY($2)
           ORDER BY id""",
        [wallet_id, hold_id, capture.json()["id"]],
        ["hold.%", "money.refund"],
    )
    assert [(r["action"], r["resource_type"], r["outcome"]) for r in rows] == [
        ("hold.create", "wallet", "posted"),  # the replay added nothing
        ("hold.capture", "hold", "hold_exceeded"),
        ("hold.capture", "hold", "posted"),
        ("money.refund", "transaction", "posted"),
    ]
    assert {r["actor"] for r in rows} == {"ride-platform"}
    assert all(r["trace_id"] for r in rows)


async def test_hold_journals_keep_the_ledger_chains_verifiable(
    api: Api, app: FastAPI, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 1000)
    headers = api.headers(key=str(uuid4()))
    short = await api.http.post(
        f"/v1/wallets/{wallet_id}/holds", json={"amount": 100, "ttl_seconds": 1}, headers=headers
    )
    assert short.status_code == 201
    kept = await api.http.post(
        f"/v1/wallets/{wallet_id}/holds", json={"amount": 200}, headers=api.headers(key=owner)
    )
    await api.http.post(
        f"/v1/holds/{kept.json()['id']}/capture",
        json={"amount": 150},
        headers=api.headers(key=str(uuid4())),
    )
    await db.execute("SELECT pg_sleep(1.1)")
    pool = app.state.pool
    assert await expire_due_holds(pool, batch_size=50) >= 1

    entry_ids = {
        str(row["id"])
        for row in await db.fetch("SELECT id FROM entries WHERE wallet_id = $1", wallet_id)
    }
    async with pool.acquire() as conn:
        findings = await audit_service.verify(conn)
    ours = [f for f in findings if f.row in entry_ids | {wallet_id}]
    assert ours == []

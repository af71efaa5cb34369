"""Money mutations, wallet creation, refusals and admin actions each leave an audit row."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from fastapi import FastAPI

from tests.support import Api, started_app
from wallet.auth.tokens import Role


def _trace() -> str:
    return f"audit-{uuid4().hex}"


async def _rows(db: asyncpg.Connection[Any], trace_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT * FROM audit_log WHERE trace_id = $1 ORDER BY id", trace_id)
    return [{**row, "details": json.loads(row["details"])} for row in rows]


async def test_posted_and_refused_money_mutations(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    trace, key = _trace(), str(uuid4())
    headers = api.headers(key=key, **{"X-Trace-Id": trace})
    posted = await api.http.post(
        f"/v1/wallets/{wallet_id}/withdraw", json={"amount": 60}, headers=headers
    )
    assert posted.status_code == 201
    replay = await api.http.post(
        f"/v1/wallets/{wallet_id}/withdraw", json={"amount": 60}, headers=headers
    )
    assert replay.headers.get("idempotent-replayed") == "true"
    refused = await api.http.post(
        f"/v1/wallets/{wallet_id}/withdraw",
        json={"amount": 60},
        headers=api.headers(key=str(uuid4()), **{"X-Trace-Id": trace}),
    )
    assert refused.status_code == 422

    # The posted withdrawal is recorded on its journal (who, from where); the refusal, which
    # has no journal, in the audit trail; the replay wrote nothing.
    journal = await db.fetchrow(
        "SELECT actor, client_address, amount FROM journals WHERE id = $1",
        UUID(posted.json()["id"]),
    )
    assert journal is not None
    assert (journal["actor"], journal["client_address"], journal["amount"]) == (
        "ride-platform",
        "127.0.0.1",
        60,
    )
    rows = await _rows(db, trace)
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("money.withdraw", "insufficient_funds"),
    ]
    refusal = rows[0]
    assert refusal["actor"] == "ride-platform"
    assert refusal["resource_type"] == "wallet" and refusal["resource_id"] == wallet_id
    assert refusal["client_address"] == "127.0.0.1"
    assert refusal["details"] == {"amount": 60, "status": 422}


async def test_wallet_creation_is_audited(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    trace = _trace()
    for expected_status in (201, 409):
        response = await api.http.post(
            "/v1/wallets",
            json={"owner_id": owner, "currency": "USD"},
            headers=api.headers(**{"X-Trace-Id": trace}),
        )
        assert response.status_code == expected_status
    rows = await _rows(db, trace)
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("wallet.create", "created"),
        ("wallet.create", "wallet_already_exists"),
    ]


async def test_authentication_failures_and_refusals_are_audited(
    api: Api, db: asyncpg.Connection[Any]
) -> None:
    trace = _trace()
    bad = await api.http.get(
        "/v1/wallets", headers={"Authorization": "Bearer nope", "X-Trace-Id": trace}
    )
    assert bad.status_code == 401
    user = f"user-{uuid4().hex[:8]}"
    forbidden = await api.http.post(
        "/v1/wallets",
        json={"owner_id": user, "currency": "USD"},
        headers=api.headers(api.token(user, Role.USER), **{"X-Trace-Id": trace}),
    )
    assert forbidden.status_code == 403
    rows = await _rows(db, trace)
    assert [(r["actor"], r["action"], r["outcome"]) for r in rows] == [
        ("anonymous", "auth.failed", "not_authenticated"),
        (user, "auth.forbidden", "forbidden"),
    ]
    assert rows[0]["details"]["reason"] == "malformed token"
    assert rows[0]["resource_id"] == "GET /v1/wallets"


async def test_admin_actions_are_audited(api: Api, db: asyncpg.Connection[Any]) -> None:
    def add_admin_route(application: FastAPI) -> None:
        @application.post("/v1/admin/ping")
        async def ping() -> dict[str, str]:
            return {"status": "pong"}

    trace = _trace()
    async with started_app(api.settings, extend=add_admin_route) as client:
        admin = await client.post(
            "/v1/admin/ping",
            headers=api.headers(api.token("ops", Role.ADMIN), **{"X-Trace-Id": trace}),
        )
        payments = await client.post(
            "/v1/admin/ping",
            headers=api.headers(api.token("svc", Role.PAYMENTS), **{"X-Trace-Id": trace}),
        )
    assert (admin.status_code, payments.status_code) == (200, 403)
    rows = [r for r in await _rows(db, trace) if r["action"].startswith("admin.")]
    assert [(r["actor"], r["action"], r["outcome"]) for r in rows] == [
        ("ops", "admin.POST /v1/admin/ping", "200"),
        ("svc", "admin.POST /v1/admin/ping", "403"),
    ]

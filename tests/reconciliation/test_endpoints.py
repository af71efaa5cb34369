"""Reconciliation over HTTP: runs stored and listed, metrics exported, errors as problems."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import asyncpg

from tests.admin.flows import Admins
from tests.support import Api
from wallet.auth.tokens import Role


async def test_runs_are_stored_listed_and_exported(api: Api) -> None:
    admins = Admins(api)
    first = await admins.reconcile()
    second = await admins.reconcile()
    assert first["status"] == "COMPLETED"
    assert first["trigger"] == "api"
    assert first["requested_by"] == "admin-alice"

    headers = api.headers(admins.bob)
    page = await api.http.get("/v1/admin/reconciliations?limit=1", headers=headers)
    assert page.status_code == 200
    assert [run["id"] for run in page.json()["items"]] == [second["id"]]
    assert "findings" not in page.json()["items"][0]
    following = await api.http.get(
        f"/v1/admin/reconciliations?limit=1&cursor={page.json()['next_cursor']}", headers=headers
    )
    assert [run["id"] for run in following.json()["items"]] == [first["id"]]

    stored = await api.http.get(f"/v1/admin/reconciliations/{first['id']}", headers=headers)
    assert stored.json() == first

    metrics = (await api.http.get("/metrics")).text
    assert 'wallet_reconciliation_runs_total{status="COMPLETED",trigger="api"}' in metrics
    assert 'wallet_reconciliation_findings{kind="balance_mismatch"}' in metrics


async def test_unknown_runs_and_bad_cursors_are_problems(api: Api) -> None:
    headers = api.headers(Admins(api).alice)
    missing = await api.http.get(f"/v1/admin/reconciliations/{uuid4()}", headers=headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "reconciliation_not_found")
    bad = await api.http.get("/v1/admin/reconciliations?cursor=nope", headers=headers)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_cursor")
    malformed = await api.http.get("/v1/admin/reconciliations/not-a-uuid", headers=headers)
    assert malformed.status_code == 422


async def test_two_admins_approving_at_once_apply_it_once(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    admins = Admins(api)
    carol = api.token("admin-carol", Role.ADMIN)
    wallet_id = await api.funded_wallet(owner, 100)
    proposal = (await admins.propose({"wallet_id": wallet_id, "amount": 9, "reason": "r"})).json()

    answers = await asyncio.gather(
        admins.decide(proposal["id"], "approve", token=admins.bob),
        admins.decide(proposal["id"], "approve", token=carol),
    )

    assert [answer.status_code for answer in answers] == [200, 200]
    assert (await api.wallet(wallet_id))["balance"] == 109
    adjustments = await db.fetchval(
        "SELECT count(*) FROM journals WHERE wallet_id = $1 AND type = 'ADJUSTMENT'", wallet_id
    )
    assert adjustments == 1


async def test_the_admin_routes_are_documented(api: Api) -> None:
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    for path in (
        "/v1/admin/reconcile",
        "/v1/admin/reconciliations/{run_id}",
        "/v1/admin/adjustments",
        "/v1/admin/adjustments/{adjustment_id}/approve",
        "/v1/admin/transactions/{transaction_id}/reverse",
        "/v1/admin/wallets/{wallet_id}/{action}",
    ):
        assert path in paths

"""Corrections under four eyes: found, proposed, approved by someone else, applied once."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg

from tests.admin.flows import Admins, findings_about
from tests.support import Api
from wallet.auth.tokens import Role


async def _suspense_balance(db: asyncpg.Connection[Any], currency: str) -> int:
    balance: int | None = await db.fetchval(
        "SELECT sum(balance) FROM wallets WHERE kind = 'SUSPENSE' AND currency = $1", currency
    )
    return balance or 0


async def test_a_balance_changed_behind_the_back_is_found_and_corrected_under_four_eyes(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 1_000, "NZD")
    # The database owner changes the balance directly; no entry records it.
    await db.execute("UPDATE wallets SET balance = balance + 130 WHERE id = $1", wallet_id)
    suspense_before = await _suspense_balance(db, "NZD")

    run = await admins.reconcile()
    (finding,) = findings_about(run, wallet_id)
    assert (finding["kind"], finding["expected"], finding["actual"]) == (
        "balance_mismatch",
        1_000,
        1_130,
    )

    proposed = await admins.propose({"finding_id": finding["id"], "reason": "ticket OPS-1"})
    assert proposed.status_code == 201, proposed.text
    adjustment = proposed.json()
    assert (adjustment["status"], adjustment["amount"], adjustment["method"]) == (
        "PENDING",
        130,
        "ALIGN_ENTRIES",
    )

    own = await admins.decide(adjustment["id"], "approve", token=admins.alice)
    assert own.status_code == 403
    assert own.json()["code"] == "four_eyes_required"
    assert await db.fetchval("SELECT count(*) FROM journals WHERE wallet_id = $1", wallet_id) == 1

    approved = await admins.decide(adjustment["id"], "approve", token=admins.bob)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "APPLIED"
    assert approved.json()["decided_by"] == "admin-bob"
    again = await admins.decide(adjustment["id"], "approve", token=admins.bob)
    assert again.status_code == 200
    assert again.json() == approved.json()

    # The customer's balance stands; its entries now say the same; SUSPENSE carries 130.
    wallet = await api.wallet(wallet_id)
    assert wallet["balance"] == 1_130
    entries_total = await db.fetchval(
        "SELECT sum(amount) FROM entries WHERE wallet_id = $1", wallet_id
    )
    assert entries_total == 1_130
    assert await _suspense_balance(db, "NZD") == suspense_before - 130
    journal = await db.fetchrow(
        """SELECT type, metadata->>'proposed_by' AS proposed_by,
                  metadata->>'approved_by' AS approved_by FROM journals WHERE id = $1""",
        approved.json()["applied_transaction_id"],
    )
    assert journal is not None and journal["type"] == "ADJUSTMENT"
    assert (journal["proposed_by"], journal["approved_by"]) == ("admin-alice", "admin-bob")

    rerun = await admins.reconcile()
    assert findings_about(rerun, wallet_id) == []
    assert [f for f in rerun["findings"] if f["currency"] == "NZD"] == []

    actions = await db.fetch(
        "SELECT action, actor FROM admin_actions WHERE subject_id = $1 ORDER BY id",
        adjustment["id"],
    )
    assert [tuple(a) for a in actions] == [
        ("adjustment.proposed", "admin-alice"),
        ("adjustment.approved", "admin-bob"),
    ]
    events = await db.fetch(
        "SELECT event_type FROM outbox_documents WHERE wallet_id = $1 ORDER BY sequence", wallet_id
    )
    assert [e["event_type"] for e in events][-2:] == [
        "adjustment.proposed",
        "wallet.adjustment.completed",
    ]


async def test_a_stale_proposal_is_refused_at_approval(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 500, "NZD")
    await db.execute("UPDATE wallets SET balance = balance + 5 WHERE id = $1", wallet_id)
    (finding,) = findings_about(await admins.reconcile(), wallet_id)
    adjustment = (await admins.propose({"finding_id": finding["id"], "reason": "r"})).json()
    # Someone puts the balance back before the approval: applying would now create a drift.
    await db.execute("UPDATE wallets SET balance = balance - 5 WHERE id = $1", wallet_id)

    refused = await admins.decide(adjustment["id"], "approve", token=admins.bob)

    assert refused.status_code == 409
    assert refused.json()["code"] == "adjustment_stale"
    assert (await admins.decide(adjustment["id"], "reject", token=admins.alice)).status_code == 200
    assert findings_about(await admins.reconcile(), wallet_id) == []


async def test_a_finding_is_proposed_once(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 500, "NZD")
    await db.execute("UPDATE wallets SET balance = balance + 1 WHERE id = $1", wallet_id)
    (finding,) = findings_about(await admins.reconcile(), wallet_id)
    first = await admins.propose({"finding_id": finding["id"], "reason": "r"})
    second = await admins.propose({"finding_id": finding["id"], "reason": "r"}, token=admins.bob)
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["code"] == "adjustment_already_proposed"
    # Clean up: apply it, so the shared database is consistent again.
    assert (await admins.decide(first.json()["id"], "approve", token=admins.bob)).status_code == 200


async def test_moving_a_balance_against_suspense(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 300)
    suspense_before = await _suspense_balance(db, "USD")

    too_much = (
        await admins.propose({"wallet_id": wallet_id, "amount": -301, "reason": "r"})
    ).json()
    refused = await admins.decide(too_much["id"], "approve", token=admins.bob)
    assert refused.status_code == 422
    assert refused.json()["code"] == "insufficient_funds"
    pending = await api.http.get(
        f"/v1/admin/adjustments/{too_much['id']}", headers=api.headers(admins.bob)
    )
    assert pending.json()["status"] == "PENDING"

    proposed = (
        await admins.propose({"wallet_id": wallet_id, "amount": -120, "reason": "r"})
    ).json()
    applied = await admins.decide(proposed["id"], "approve", token=admins.bob)
    assert applied.status_code == 200, applied.text

    assert (await api.wallet(wallet_id))["balance"] == 180
    assert await _suspense_balance(db, "USD") == suspense_before + 120
    assert findings_about(await admins.reconcile(), wallet_id) == []


async def test_rejected_stays_rejected_and_applied_cannot_be_rejected(api: Api, owner: str) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 100)
    withdrawn = (await admins.propose({"wallet_id": wallet_id, "amount": 5, "reason": "r"})).json()
    rejected = await admins.decide(withdrawn["id"], "reject", token=admins.alice)  # proposer may
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["decision_reason"]) == (
        "REJECTED",
        "checked the case",
    )
    late = await admins.decide(withdrawn["id"], "approve", token=admins.bob)
    assert late.status_code == 409
    assert late.json()["code"] == "adjustment_already_decided"

    applied = (await admins.propose({"wallet_id": wallet_id, "amount": 5, "reason": "r"})).json()
    assert (await admins.decide(applied["id"], "approve", token=admins.bob)).status_code == 200
    assert (await admins.decide(applied["id"], "reject", token=admins.bob)).status_code == 409
    assert (await api.wallet(wallet_id))["balance"] == 105


async def test_a_proposal_retried_with_its_key_is_replayed(api: Api, owner: str) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 100)
    body = {"wallet_id": wallet_id, "amount": 7, "reason": "r"}
    key = str(uuid4())
    first = await admins.post("/v1/admin/adjustments", body, token=admins.alice, key=key)
    retry = await admins.post("/v1/admin/adjustments", body, token=admins.alice, key=key)
    other = await admins.post(
        "/v1/admin/adjustments", {**body, "amount": 8}, token=admins.alice, key=key
    )
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_bad_proposals_are_refused_without_effect(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 100)
    before = await db.fetchval("SELECT count(*) FROM adjustments")
    cases: list[tuple[dict[str, Any], int]] = [
        ({"wallet_id": wallet_id, "amount": 0, "reason": "r"}, 422),
        ({"wallet_id": wallet_id, "amount": 2**63, "reason": "r"}, 422),
        ({"wallet_id": wallet_id, "amount": "5", "reason": "r"}, 422),
        ({"wallet_id": wallet_id, "amount": 5, "reason": ""}, 422),
        ({"wallet_id": wallet_id, "amount": 5, "reason": "r", "extra": 1}, 422),
        ({"wallet_id": "not-a-uuid", "amount": 5, "reason": "r"}, 422),
        ({"wallet_id": str(uuid4()), "amount": 5, "reason": "r"}, 404),
        ({"finding_id": str(uuid4()), "reason": "r"}, 404),
    ]
    for body, status in cases:
        response = await admins.propose(body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    missing_key = await admins.post(
        "/v1/admin/adjustments",
        {"wallet_id": wallet_id, "amount": 5, "reason": "r"},
        token=admins.alice,
    )
    assert missing_key.status_code == 400
    assert await db.fetchval("SELECT count(*) FROM adjustments") == before


async def test_only_a_balance_mismatch_finding_can_be_adjusted(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 100, "NZD")
    await db.execute("UPDATE wallets SET held = 3 WHERE id = $1", wallet_id)
    try:
        findings = findings_about(await admins.reconcile(), wallet_id)
        assert {f["kind"] for f in findings} == {"held_mismatch", "hold_reservation_mismatch"}
        finding = next(f for f in findings if f["kind"] == "held_mismatch")
        refused = await admins.propose({"finding_id": finding["id"], "reason": "r"})
        assert refused.status_code == 422
        assert refused.json()["code"] == "adjustment_not_applicable"
    finally:
        await db.execute("UPDATE wallets SET held = 0 WHERE id = $1", wallet_id)


async def test_admin_routes_need_the_admin_role(api: Api) -> None:
    payments = api.token("ride-platform", Role.PAYMENTS)
    routes = [
        ("POST", "/v1/admin/reconcile"),
        ("GET", "/v1/admin/reconciliations"),
        ("GET", f"/v1/admin/reconciliations/{uuid4()}"),
        ("POST", "/v1/admin/adjustments"),
        ("GET", "/v1/admin/adjustments"),
        ("POST", f"/v1/admin/adjustments/{uuid4()}/approve"),
        ("POST", f"/v1/admin/adjustments/{uuid4()}/reject"),
        ("POST", f"/v1/admin/transactions/{uuid4()}/reverse"),
        ("POST", f"/v1/admin/wallets/{uuid4()}/freeze"),
    ]
    for method, path in routes:
        forbidden = await api.http.request(method, path, headers=api.headers(payments))
        assert forbidden.status_code == 403, (path, forbidden.text)
        anonymous = await api.http.request(method, path)
        assert anonymous.status_code == 401, path

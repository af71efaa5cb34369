"""Freeze (no outgoing money), unfreeze, and close (empty wallets only), with reasons."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg

from tests.admin.flows import Admins
from tests.support import Api


async def _status(admins: Admins, wallet_id: str, action: str, reason: str = "r") -> Any:
    return await admins.post(
        f"/v1/admin/wallets/{wallet_id}/{action}", {"reason": reason}, token=admins.alice
    )


async def test_a_frozen_wallet_receives_but_sends_nothing(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 500)
    other = await api.funded_wallet(f"{owner}-other", 500)

    frozen = await _status(admins, wallet_id, "freeze", "fraud review FR-9")
    assert frozen.status_code == 200, frozen.text
    assert frozen.json()["status"] == "FROZEN"
    assert (await _status(admins, wallet_id, "freeze")).status_code == 200  # already: no-op

    withdraw = await api.move(wallet_id, "withdraw", {"amount": 1})
    send = await api.move(wallet_id, "transfer", {"to_wallet_id": other, "amount": 1})
    assert (withdraw.status_code, withdraw.json()["code"]) == (409, "wallet_not_active")
    assert send.status_code == 409
    assert (await api.move(wallet_id, "deposit", {"amount": 5})).status_code == 201
    receive = await api.move(other, "transfer", {"to_wallet_id": wallet_id, "amount": 5})
    assert receive.status_code == 201

    assert (await _status(admins, wallet_id, "unfreeze", "cleared")).json()["status"] == "ACTIVE"
    assert (await api.move(wallet_id, "withdraw", {"amount": 10})).status_code == 201
    assert (await api.wallet(wallet_id))["balance"] == 500

    actions = await db.fetch(
        """SELECT action, actor, reason, details->>'from_status' AS from_status
           FROM admin_actions WHERE wallet_id = $1 ORDER BY id""",
        wallet_id,
    )
    assert [tuple(a) for a in actions] == [
        ("wallet.frozen", "admin-alice", "fraud review FR-9", "ACTIVE"),
        ("wallet.unfrozen", "admin-alice", "cleared", "FROZEN"),
    ]
    events = await db.fetch(
        """SELECT event_type FROM outbox_documents
           WHERE wallet_id = $1 AND event_type NOT LIKE '%.completed' ORDER BY sequence""",
        wallet_id,
    )
    assert [e["event_type"] for e in events] == [
        "wallet.created",
        "wallet.frozen",
        "wallet.unfrozen",
    ]


async def test_only_an_empty_wallet_closes_and_closing_is_final(api: Api, owner: str) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 40)

    not_empty = await _status(admins, wallet_id, "close")
    assert (not_empty.status_code, not_empty.json()["code"]) == (409, "wallet_not_empty")

    assert (await api.move(wallet_id, "withdraw", {"amount": 40})).status_code == 201
    closed = await _status(admins, wallet_id, "close", "customer left")
    assert closed.status_code == 200
    assert closed.json()["status"] == "CLOSED"
    assert (await _status(admins, wallet_id, "close")).status_code == 200  # already: no-op

    deposit = await api.move(wallet_id, "deposit", {"amount": 1})
    assert (deposit.status_code, deposit.json()["code"]) == (409, "wallet_not_active")
    for action in ("freeze", "unfreeze"):
        assert (await _status(admins, wallet_id, action)).status_code == 409


async def test_status_changes_refuse_bad_requests(api: Api, owner: str) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 1)
    assert (await _status(admins, str(uuid4()), "freeze")).status_code == 404
    assert (await _status(admins, wallet_id, "explode")).status_code == 422
    assert (await _status(admins, wallet_id, "freeze", "")).status_code == 422
    no_reason = await admins.post(f"/v1/admin/wallets/{wallet_id}/freeze", {}, token=admins.alice)
    assert no_reason.status_code == 422
    assert (await api.wallet(wallet_id))["status"] == "ACTIVE"


async def test_holds_on_a_frozen_wallet_can_still_be_released(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    admins = Admins(api)
    wallet_id = await api.funded_wallet(owner, 100)
    held = await api.http.post(
        f"/v1/wallets/{wallet_id}/holds",
        json={"amount": 60},
        headers=api.headers(key=str(uuid4())),
    )
    assert held.status_code == 201, held.text
    assert (await _status(admins, wallet_id, "freeze")).status_code == 200

    released = await api.http.post(
        f"/v1/holds/{held.json()['id']}/release",
        json={"reason": "ride cancelled"},
        headers=api.headers(key=str(uuid4())),
    )

    assert released.status_code == 200, released.text
    assert (await api.wallet(wallet_id))["held"] == 0

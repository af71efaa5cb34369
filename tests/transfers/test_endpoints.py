"""Deposit, withdraw and transfer: effects, entries, events and every refusal."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from tests.support import Api
from wallet.auth.tokens import Role
from wallet.money import MAX_AMOUNT


async def _system_balance(db: asyncpg.Connection[Any], kind: str, currency: str) -> int:
    value = await db.fetchval(
        "SELECT sum(balance) FROM wallets WHERE kind = $1 AND currency = $2", kind, currency
    )
    return int(value or 0)


async def test_deposit_credits_wallet_against_external(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet = await api.create_wallet(owner, "GBP")
    external_before = await _system_balance(db, "EXTERNAL", "GBP")
    response = await api.move(
        wallet["id"],
        "deposit",
        {"amount": 1250, "reference_id": "topup-1", "category": "TOPUP", "metadata": {"k": 1}},
    )
    assert response.status_code == 201
    txn = response.json()
    assert (txn["type"], txn["status"], txn["amount"], txn["currency"]) == (
        "DEPOSIT",
        "POSTED",
        1250,
        "GBP",
    )
    assert (txn["reference_id"], txn["category"], txn["metadata"]) == ("topup-1", "TOPUP", {"k": 1})
    user_entry = next(e for e in txn["entries"] if e["wallet_id"] == wallet["id"])
    assert (user_entry["balance_before"], user_entry["balance_after"]) == (0, 1250)
    assert sum(e["amount"] for e in txn["entries"]) == 0
    assert (await api.wallet(wallet["id"]))["balance"] == 1250
    assert await _system_balance(db, "EXTERNAL", "GBP") == external_before - 1250


async def test_withdraw_debits_wallet(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 1000)
    response = await api.move(wallet_id, "withdraw", {"amount": 400})
    assert response.status_code == 201
    assert response.json()["type"] == "WITHDRAW"
    assert (await api.wallet(wallet_id))["balance"] == 600


async def test_transfer_moves_money_and_records_both_sides(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    source = await api.funded_wallet(owner, 1000)
    target = (await api.create_wallet(f"{owner}-driver"))["id"]
    response = await api.http.post(
        f"/v1/wallets/{source}/transfer",
        json={"to_wallet_id": target, "amount": 300, "category": "RIDE"},
        headers=api.headers(key=str(uuid4()), **{"X-Trace-Id": "ride-42-trace"}),
    )
    assert response.status_code == 201
    assert response.headers["x-trace-id"] == "ride-42-trace"
    txn = response.json()
    assert txn["trace_id"] == "ride-42-trace"
    by_wallet = {e["wallet_id"]: e for e in txn["entries"]}
    assert by_wallet[source]["amount"] == -300
    assert by_wallet[source]["balance_after"] == 700
    assert by_wallet[target]["amount"] == 300
    assert by_wallet[target]["balance_after"] == 300
    assert (await api.wallet(source))["balance"] == 700
    assert (await api.wallet(target))["balance"] == 300

    events = await db.fetch(
        "SELECT wallet_id::text, event_type, sequence, trace_id FROM outbox_documents"
        " WHERE journal_id = $1",
        txn["id"],
    )
    assert {(e["wallet_id"], e["event_type"]) for e in events} == {
        (source, "wallet.transfer.completed"),
        (target, "wallet.transfer.completed"),
    }
    assert {e["trace_id"] for e in events} == {"ride-42-trace"}
    sequences = {e["wallet_id"]: e["sequence"] for e in events}
    assert sequences[source] == (await api.wallet(source))["version"]


async def test_a_trace_id_is_generated_when_absent(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 10)
    response = await api.move(wallet_id, "withdraw", {"amount": 1})
    assert response.headers["x-trace-id"] == response.json()["trace_id"]
    assert len(response.headers["x-trace-id"]) >= 16


async def test_insufficient_funds(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    response = await api.move(wallet_id, "withdraw", {"amount": 101})
    assert (response.status_code, response.json()["code"]) == (422, "insufficient_funds")
    target = (await api.create_wallet(f"{owner}-t"))["id"]
    transfer = await api.move(wallet_id, "transfer", {"to_wallet_id": target, "amount": 101})
    assert (transfer.status_code, transfer.json()["code"]) == (422, "insufficient_funds")
    assert (await api.wallet(wallet_id))["balance"] == 100
    assert (await api.wallet(target))["balance"] == 0


async def test_currency_mismatch(api: Api, owner: str) -> None:
    usd = await api.funded_wallet(owner, 100, "USD")
    eur = (await api.create_wallet(owner, "EUR"))["id"]
    response = await api.move(usd, "transfer", {"to_wallet_id": eur, "amount": 10})
    assert (response.status_code, response.json()["code"]) == (422, "currency_mismatch")
    assert (await api.wallet(usd))["balance"] == 100


async def test_same_wallet(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    response = await api.move(wallet_id, "transfer", {"to_wallet_id": wallet_id, "amount": 10})
    assert (response.status_code, response.json()["code"]) == (422, "same_wallet")


async def test_wallet_not_active(api: Api, owner: str, db: asyncpg.Connection[Any]) -> None:
    frozen = await api.funded_wallet(owner, 100)
    await db.execute("UPDATE wallets SET status = 'FROZEN' WHERE id = $1", frozen)
    response = await api.move(frozen, "withdraw", {"amount": 10})
    assert (response.status_code, response.json()["code"]) == (409, "wallet_not_active")
    # A frozen wallet still receives money; a closed one does not.
    assert (await api.move(frozen, "deposit", {"amount": 5})).status_code == 201
    await db.execute("UPDATE wallets SET status = 'CLOSED' WHERE id = $1", frozen)
    closed = await api.move(frozen, "deposit", {"amount": 5})
    assert (closed.status_code, closed.json()["code"]) == (409, "wallet_not_active")
    assert (await api.wallet(frozen))["balance"] == 105


async def test_unknown_wallets(api: Api, owner: str) -> None:
    response = await api.move(str(uuid4()), "deposit", {"amount": 10})
    assert (response.status_code, response.json()["code"]) == (404, "wallet_not_found")
    source = await api.funded_wallet(owner, 100)
    to_nowhere = await api.move(source, "transfer", {"to_wallet_id": str(uuid4()), "amount": 10})
    assert (to_nowhere.status_code, to_nowhere.json()["code"]) == (404, "wallet_not_found")
    assert (await api.wallet(source))["balance"] == 100


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount": 1.5},
        {"amount": 10.0},
        {"amount": "10"},
        {"amount": True},
        {"amount": MAX_AMOUNT + 1},
        {"amount": 10**30},
        {},
        {"amount": 10, "unexpected": 1},
        {"amount": 10, "balance": 99},
        {"amount": 10, "category": "NOT_A_CATEGORY"},
        {"amount": 10, "reference_id": "r" * 129},
        {"amount": 10, "metadata": "not-an-object"},
    ],
)
async def test_bad_amounts_and_fields_are_refused_without_effect(
    api: Api, owner: str, body: dict[str, Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    response = await api.move(wallet_id, "withdraw", body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert (await api.wallet(wallet_id))["balance"] == 100


async def test_transfer_with_malformed_destination(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 100)
    response = await api.move(wallet_id, "transfer", {"to_wallet_id": "nope", "amount": 1})
    assert response.status_code == 422
    assert any("to_wallet_id" in e["loc"] for e in response.json()["errors"])


async def test_the_largest_amount_is_accepted_until_it_would_overflow(api: Api, owner: str) -> None:
    # A currency no other test moves: the EXTERNAL shard this deposit draws on must start at
    # zero, or it (not the wallet) is what would overflow.
    wallet = await api.create_wallet(owner, "PLN")
    response = await api.move(wallet["id"], "deposit", {"amount": MAX_AMOUNT})
    assert response.status_code == 201
    overflow = await api.move(wallet["id"], "deposit", {"amount": 1})
    # the balance column cannot hold more: a clear refusal, never a 500
    assert overflow.status_code == 422
    assert overflow.json()["code"] == "amount_out_of_range"
    assert (await api.wallet(wallet["id"]))["balance"] == MAX_AMOUNT


async def test_users_move_money_only_from_their_own_wallets(api: Api, owner: str) -> None:
    mine = await api.funded_wallet(owner, 100)
    theirs = await api.funded_wallet(f"{owner}-other", 100)
    user = api.token(owner, Role.USER)

    allowed = await api.move(mine, "transfer", {"to_wallet_id": theirs, "amount": 10}, token=user)
    assert allowed.status_code == 201
    stolen = await api.move(theirs, "transfer", {"to_wallet_id": mine, "amount": 10}, token=user)
    assert (stolen.status_code, stolen.json()["code"]) == (404, "wallet_not_found")
    for action in ("deposit", "withdraw"):
        refused = await api.move(mine, action, {"amount": 10}, token=user)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert (await api.wallet(mine))["balance"] == 90
    assert (await api.wallet(theirs))["balance"] == 110


async def test_system_wallets_cannot_be_named_by_clients(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    source = await api.funded_wallet(owner, 100)
    external = await db.fetchval(
        "SELECT id::text FROM wallets WHERE kind = 'EXTERNAL' AND currency = 'USD' LIMIT 1"
    )
    response = await api.move(source, "transfer", {"to_wallet_id": external, "amount": 10})
    assert (response.status_code, response.json()["code"]) == (404, "wallet_not_found")
    as_source = await api.move(external, "withdraw", {"amount": 10})
    assert as_source.status_code == 404
    hidden = await api.http.get(f"/v1/wallets/{external}", headers=api.headers())
    assert hidden.status_code == 404
    assert (await api.wallet(source))["balance"] == 100


@pytest.mark.parametrize(
    "raw_body",
    [
        b'{"amount": 5, "reference_id": "ride\\u0000-1"}',
        b'{"amount": 5, "metadata": {"note": "a\\u0000b"}}',
        b'{"amount": 5, "metadata": {"k\\u0000": 1}}',
        b'{"amount": 5, "metadata": {"note": "\\ud89b"}}',
        b'{"amount": 5, "metadata": {"n": 99999999999999999999999}}',
        b'{"amount": 5, "metadata": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}",
    ],
    ids=["nul-in-text", "nul-in-metadata", "nul-in-key", "lone-surrogate", "huge-int", "deep"],
)
async def test_unstorable_text_and_numbers_are_refused(
    api: Api, owner: str, raw_body: bytes
) -> None:
    """Found by fuzzing the OpenAPI document: each of these used to reach the database."""
    wallet_id = await api.funded_wallet(owner, 100)
    response = await api.http.post(
        f"/v1/wallets/{wallet_id}/deposit",
        content=raw_body,
        headers={**api.headers(key=str(uuid4())), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert (await api.wallet(wallet_id))["balance"] == 100

"""POST /v1/batches: atomic all-or-nothing, item-by-item outcomes, replay, ownership, limits."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from tests.holds.helpers import create_hold
from tests.support import Api
from wallet.auth.tokens import Role


async def _batch(
    api: Api,
    items: list[dict[str, Any]],
    *,
    atomic: bool = False,
    token: str | None = None,
    key: str | None = None,
) -> httpx.Response:
    return await api.http.post(
        "/v1/batches",
        json={"atomic": atomic, "items": items},
        headers=api.headers(token, key=key or str(uuid4())),
    )


async def _trace(db: asyncpg.Connection[Any], wallet_ids: list[str]) -> tuple[Any, ...]:
    """Everything a posting leaves behind on these wallets."""
    return (
        await db.fetchval(
            "SELECT count(*) FROM entries WHERE wallet_id = ANY($1::uuid[])", wallet_ids
        ),
        await db.fetchval(
            "SELECT count(*) FROM holds WHERE wallet_id = ANY($1::uuid[])", wallet_ids
        ),
        await db.fetchval(
            "SELECT count(*) FROM outbox WHERE wallet_id = ANY($1::uuid[])", wallet_ids
        ),
        await db.fetch(
            "SELECT id, balance, held, version FROM wallets WHERE id = ANY($1::uuid[]) ORDER BY id",
            wallet_ids,
        ),
    )


async def test_atomic_batch_with_one_bad_item_leaves_no_trace(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    source = await api.funded_wallet(owner, 1000)
    target = (await api.create_wallet(f"{owner}-b"))["id"]
    before = await _trace(db, [source, target])
    key = str(uuid4())
    items = [
        {"kind": "transfer", "wallet_id": source, "to_wallet_id": target, "amount": 100},
        {"kind": "hold", "wallet_id": source, "amount": 200},
        {"kind": "deposit", "wallet_id": target, "amount": 50},
        {"kind": "transfer", "wallet_id": source, "to_wallet_id": target, "amount": 5000},
        {"kind": "deposit", "wallet_id": target, "amount": 70},
    ]
    response = await _batch(api, items, atomic=True, key=key)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "batch_rejected"
    assert problem["item_index"] == 3
    assert problem["item_problem"]["code"] == "insufficient_funds"
    assert await _trace(db, [source, target]) == before
    audit = await db.fetchrow(
        "SELECT outcome, details FROM audit_log WHERE resource_type = 'batch' AND resource_id = $1",
        key,
    )
    assert audit is not None and audit["outcome"] == "batch_rejected"
    # The refused batch kept nothing under its key: the corrected batch may use it.
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = $1", key) == 0
    items[3]["amount"] = 500
    retried = await _batch(api, items, atomic=True, key=key)
    assert retried.status_code == 201, retried.text
    assert [item["status"] for item in retried.json()["items"]] == ["posted"] * 5
    assert (await api.wallet(source))["balance"] == 400
    assert (await api.wallet(source))["held"] == 200
    assert (await api.wallet(target))["balance"] == 720


async def _one_by_one(api: Api, item: dict[str, Any]) -> httpx.Response:
    fields = {
        k: v for k, v in item.items() if k not in ("kind", "wallet_id", "hold_id", "client_ref")
    }
    if item["kind"] == "capture":
        path = f"/v1/holds/{item['hold_id']}/capture"
    elif item["kind"] == "hold":
        path = f"/v1/wallets/{item['wallet_id']}/holds"
    else:
        path = f"/v1/wallets/{item['wallet_id']}/{item['kind']}"
    return await api.http.post(path, json=fields, headers=api.headers(key=str(uuid4())))


def _shape(kind: str, answer: dict[str, Any], ids: dict[str, str]) -> Any:
    """An answer without what differs between two runs (ids, times, traces)."""

    def name(value: Any) -> Any:
        return ids.get(value, "other") if isinstance(value, str) else value

    if kind == "hold":
        return (answer["amount"], answer["status"], answer["remaining"], name(answer["wallet_id"]))
    entries = sorted(
        (name(e["wallet_id"]), e["amount"], e.get("balance_after"), e.get("held_after"))
        for e in answer["entries"]
        if name(e["wallet_id"]) != "other"
    )
    return (answer["type"], answer["amount"], name(answer["wallet_id"]), entries)


async def _scenario(api: Api, owner: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    a = await api.funded_wallet(f"{owner}-a", 1000)
    b = await api.funded_wallet(f"{owner}-b", 100)
    frozen = await api.funded_wallet(f"{owner}-f", 100)
    eur = await api.funded_wallet(f"{owner}-e", 100, currency="EUR")
    hold = await create_hold(api, b, 80)
    response = await api.http.post(
        f"/v1/admin/wallets/{frozen}/freeze",
        json={"reason": "test"},
        headers=api.headers(api.token("ops", Role.ADMIN)),
    )
    assert response.status_code == 200, response.text
    ids = {a: "a", b: "b", frozen: "frozen", eur: "eur", hold["id"]: "hold"}
    items: list[dict[str, Any]] = [
        {"kind": "transfer", "wallet_id": a, "to_wallet_id": b, "amount": 300, "client_ref": "r0"},
        {"kind": "withdraw", "wallet_id": b, "amount": 5000},  # insufficient
        {"kind": "hold", "wallet_id": a, "amount": 600},
        {"kind": "transfer", "wallet_id": a, "to_wallet_id": b, "amount": 200},  # held away
        {"kind": "transfer", "wallet_id": a, "to_wallet_id": a, "amount": 1},  # same wallet
        {"kind": "transfer", "wallet_id": a, "to_wallet_id": eur, "amount": 1},  # currency
        {"kind": "transfer", "wallet_id": frozen, "to_wallet_id": a, "amount": 1},  # frozen
        {"kind": "deposit", "wallet_id": str(uuid4()), "amount": 1},  # no such wallet
        {"kind": "capture", "hold_id": hold["id"], "amount": 50, "to_wallet_id": a},
        {"kind": "capture", "hold_id": hold["id"], "amount": 500},  # exceeds the hold
        {"kind": "capture", "hold_id": str(uuid4())},  # no such hold
        {"kind": "deposit", "wallet_id": b, "amount": 25, "reference_id": "late"},
        {"kind": "withdraw", "wallet_id": a, "amount": 100},
    ]
    return ids, items


async def test_non_atomic_batch_gives_the_one_by_one_outcomes(api: Api, owner: str) -> None:
    ids_batch, items_batch = await _scenario(api, f"{owner}-x")
    ids_single, items_single = await _scenario(api, f"{owner}-y")

    response = await _batch(api, items_batch)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["atomic"] is False
    batched: list[tuple[Any, ...]] = []
    for index, (item, outcome) in enumerate(zip(items_batch, answer["items"], strict=True)):
        assert outcome["index"] == index
        assert outcome["client_ref"] == item.get("client_ref")
        if outcome["status"] == "posted":
            body = outcome["hold"] if item["kind"] == "hold" else outcome["transaction"]
            batched.append(("posted", _shape(item["kind"], body, ids_batch)))
        else:
            assert outcome["status"] == "refused"
            batched.append(("refused", outcome["problem"]["code"], outcome["problem"]["status"]))

    single: list[tuple[Any, ...]] = []
    for item in items_single:
        one = await _one_by_one(api, item)
        if one.status_code == 201:
            single.append(("posted", _shape(item["kind"], one.json(), ids_single)))
        else:
            single.append(("refused", one.json()["code"], one.status_code))
    assert batched == single
    assert [outcome[0] for outcome in batched].count("refused") == 8
    for wallet_x, name in ids_batch.items():
        if name == "hold":
            continue
        wallet_y = next(w for w, n in ids_single.items() if n == name)
        x, y = await api.wallet(wallet_x), await api.wallet(wallet_y)
        assert (x["balance"], x["held"]) == (y["balance"], y["held"]), name


async def test_replayed_batch_is_byte_for_byte(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    source = await api.funded_wallet(owner, 1000)
    target = (await api.create_wallet(f"{owner}-b"))["id"]
    user = api.token(owner, Role.USER)
    items = [
        {"kind": "transfer", "wallet_id": source, "to_wallet_id": target, "amount": 10},
        {"kind": "transfer", "wallet_id": source, "to_wallet_id": target, "amount": 9999},
        {"kind": "hold", "wallet_id": source, "amount": 5, "client_ref": "h"},
    ]
    for token in (None, user):
        key = str(uuid4())
        first = await _batch(api, items, token=token, key=key)
        assert first.status_code == 201, first.text
        again = await _batch(api, items, token=token, key=key)
        assert again.status_code == 201
        assert again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"
        reused = await _batch(api, items[:1], token=token, key=key)
        assert reused.status_code == 422
        assert reused.json()["code"] == "idempotency_key_reused"
    # Each batch posted once: 2 x (10 transferred, 5 held).
    wallet = await api.wallet(source)
    assert (wallet["balance"], wallet["held"]) == (980, 10)
    # The user sees its own balances, not the recipient's.
    answer = first.json()
    entries = answer["items"][0]["transaction"]["entries"]
    assert {"balance_after" in e for e in entries if e["wallet_id"] == target} == {False}
    assert {"balance_after" in e for e in entries if e["wallet_id"] == source} == {True}


async def test_user_cannot_batch_from_a_foreign_wallet(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    own = await api.funded_wallet(owner, 1000)
    foreign = await api.funded_wallet(f"{owner}-other", 1000)
    user = api.token(owner, Role.USER)
    before = await _trace(db, [own, foreign])
    items = [
        {"kind": "transfer", "wallet_id": own, "to_wallet_id": foreign, "amount": 1},
        {"kind": "transfer", "wallet_id": foreign, "to_wallet_id": own, "amount": 500},
        {"kind": "hold", "wallet_id": foreign, "amount": 500},
        {"kind": "deposit", "wallet_id": own, "amount": 500},
    ]
    atomic = await _batch(api, items, atomic=True, token=user)
    assert atomic.status_code == 404, atomic.text
    assert (atomic.json()["code"], atomic.json()["item_index"]) == ("wallet_not_found", 1)
    assert await _trace(db, [own, foreign]) == before

    response = await _batch(api, items, token=user)
    assert response.status_code == 201, response.text
    outcomes = [
        (item["status"], (item.get("problem") or {}).get("code"))
        for item in response.json()["items"]
    ]
    assert outcomes == [
        ("posted", None),
        ("refused", "wallet_not_found"),
        ("refused", "wallet_not_found"),
        ("refused", "forbidden"),
    ]
    assert (await api.wallet(foreign))["balance"] == 1001
    assert (await api.wallet(foreign))["held"] == 0
    assert (await api.wallet(own))["balance"] == 999


async def test_a_thousand_transfers_in_one_batch(api: Api, owner: str) -> None:
    source = await api.funded_wallet(owner, 10_000)
    target = (await api.create_wallet(f"{owner}-b"))["id"]
    items = [
        {
            "kind": "transfer",
            "wallet_id": source,
            "to_wallet_id": target,
            "amount": 7,
            "reference_id": f"payroll-{n:04d}",
            "metadata": {"driver": f"d-{n}"},
            "client_ref": f"line-{n}",
        }
        for n in range(1000)
    ]
    response = await _batch(api, items, atomic=True)
    assert response.status_code == 201, response.text
    outcomes = response.json()["items"]
    assert [o["client_ref"] for o in outcomes] == [f"line-{n}" for n in range(1000)]
    assert {o["status"] for o in outcomes} == {"posted"}
    assert (await api.wallet(source))["balance"] == 3000
    assert (await api.wallet(target))["balance"] == 7000


async def test_limits_on_items_and_body_size(api: Api, owner: str) -> None:
    wallet = (await api.create_wallet(owner))["id"]
    item = {"kind": "deposit", "wallet_id": wallet, "amount": 1}
    too_many = await _batch(api, [item] * 1001)
    assert too_many.status_code == 422
    assert too_many.json()["code"] == "validation_error"
    assert "1000" in too_many.text
    empty = await _batch(api, [])
    assert empty.status_code == 422
    heavy = {**item, "metadata": {"blob": "x" * 3000}}
    too_big = await _batch(api, [heavy] * 1000)
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "payload_too_large"
    assert (await api.wallet(wallet))["balance"] == 0


@pytest.mark.parametrize(
    "unstorable",
    [
        '"reference_id": "ride\\u0000-1"',
        '"metadata": {"note": "a\\u0000b"}',
        '"metadata": {"note": "\\ud89b"}',
        '"metadata": {"n": 99999999999999999999999}',
        '"client_ref": "ref\\u0000"',
    ],
    ids=["nul-in-text", "nul-in-metadata", "lone-surrogate", "huge-int", "nul-in-client-ref"],
)
async def test_unstorable_content_in_an_item_is_refused(
    api: Api, owner: str, db: asyncpg.Connection[Any], unstorable: str
) -> None:
    """The batch's own check leaves its items to theirs (each item is a request model): an
    item's content is still checked, once."""
    wallet = await api.funded_wallet(owner, 100)
    good = f'{{"kind": "deposit", "wallet_id": "{wallet}", "amount": 1}}'
    bad = f'{{"kind": "deposit", "wallet_id": "{wallet}", "amount": 1, {unstorable}}}'
    before = await _trace(db, [wallet])
    response = await api.http.post(
        "/v1/batches",
        content=f'{{"atomic": false, "items": [{good}, {bad}]}}'.encode(),
        headers={**api.headers(key=str(uuid4())), "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert await _trace(db, [wallet]) == before


async def test_a_batch_counts_each_items_outcome_in_the_metrics(api: Api, owner: str) -> None:
    """Each item's outcome is counted, as its single route counts it (the batch adds them up
    per outcome and increments each counter once)."""
    source = await api.funded_wallet(owner, 10)
    target = (await api.create_wallet(f"{owner}-to"))["id"]

    def counted() -> tuple[float, float]:
        posted = REGISTRY.get_sample_value("wallet_balance_changes_total", {"type": "TRANSFER"})
        refused = REGISTRY.get_sample_value(
            "transfer_failures_total", {"type": "TRANSFER", "reason": "insufficient_funds"}
        )
        return (posted or 0.0, refused or 0.0)

    before = counted()
    transfer = {"kind": "transfer", "wallet_id": source, "to_wallet_id": target, "amount": 4}
    response = await _batch(api, [transfer] * 3)  # 10 covers two of them
    assert [item["status"] for item in response.json()["items"]] == ["posted"] * 2 + ["refused"]
    after = counted()
    assert (after[0] - before[0], after[1] - before[1]) == (2.0, 1.0)


async def test_the_kept_answer_names_transactions_and_keeps_holds_as_they_were(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    """The key keeps each posted transaction by its id and renders it after commit (the same
    rendering as its lookup); a hold's answer is kept as given, whatever becomes of the hold."""
    source = await api.funded_wallet(owner, 100)
    target = (await api.create_wallet(f"{owner}-to"))["id"]
    items = [
        {"kind": "transfer", "wallet_id": source, "to_wallet_id": target, "amount": 10},
        {"kind": "hold", "wallet_id": source, "amount": 5},
    ]
    key = str(uuid4())
    first = await _batch(api, items, key=key)
    assert first.status_code == 201, first.text
    transaction, hold = first.json()["items"][0]["transaction"], first.json()["items"][1]["hold"]
    lookup = await api.http.get(f"/v1/transactions/{transaction['id']}", headers=api.headers())
    assert lookup.json() == transaction
    kept = await db.fetchval(
        "SELECT response_body FROM idempotency_keys WHERE caller = 'ride-platform' AND key = $1",
        key,
    )
    assert transaction["id"] in kept and '"entries"' not in kept  # by id, not rendered
    released = await api.http.post(
        f"/v1/holds/{hold['id']}/release", json={}, headers=api.headers()
    )
    assert released.json()["status"] == "RELEASED"
    again = await _batch(api, items, key=key)
    assert (again.status_code, again.content) == (201, first.content)
    assert again.json()["items"][1]["hold"]["status"] == "HELD"


async def test_an_answer_kept_whole_before_records_replays_as_kept(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    """Batches answered before their keys kept records kept the answer's text itself."""
    wallet = await api.funded_wallet(owner, 100)
    items = [{"kind": "withdraw", "wallet_id": wallet, "amount": 1}]
    key = str(uuid4())
    first = await _batch(api, items, key=key)
    assert first.status_code == 201, first.text
    await db.execute(
        "UPDATE idempotency_keys SET response_body = $2"
        " WHERE caller = 'ride-platform' AND key = $1",
        key,
        first.text,
    )
    again = await _batch(api, items, key=key)
    assert (again.status_code, again.content) == (201, first.content)

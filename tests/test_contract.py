"""Every answer matches its route's declared response model, field for field.

Transactions, holds, captures, refunds and events are rendered as JSON inside the database
(one renderer each); wallets and pages by pydantic. This calls the routes, success and their
documented errors, and holds each body to its model: no field the model lacks, no required
field missing, every timestamp RFC 3339 UTC with 'Z', every error application/problem+json.
A field added to the SQL rendering but not to the model (or the other way round) fails here.
"""

from __future__ import annotations

import types
from datetime import datetime
from typing import Any, Union, get_args, get_origin
from uuid import uuid4

import httpx
from pydantic import BaseModel

from tests.holds.helpers import post
from tests.support import Api
from wallet.auth.tokens import Role
from wallet.holds.schemas import CaptureOut, HoldOut, HoldPage
from wallet.ledger.schemas import LedgerPage, TransactionOut
from wallet.outbox.schemas import EventPage
from wallet.wallets.schemas import WalletOut

_PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds: X, list[X], X | None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (list, Union, types.UnionType):
        return [model for arg in get_args(annotation) for model in _models_in(arg)]
    return []


def _is_datetime(annotation: Any) -> bool:
    return annotation is datetime or datetime in get_args(annotation)


def assert_matches(model: type[BaseModel], body: Any, where: str = "body") -> None:
    """``body`` is exactly what ``model`` declares (recursively)."""
    model.model_validate(body)
    assert isinstance(body, dict), where
    declared = model.model_fields
    extra = set(body) - set(declared)
    assert not extra, f"{where}: fields not in {model.__name__}: {sorted(extra)}"
    missing = {name for name, info in declared.items() if info.is_required()} - set(body)
    assert not missing, f"{where}: {model.__name__} fields missing: {sorted(missing)}"
    for name, value in body.items():
        annotation = declared[name].annotation
        if _is_datetime(annotation) and value is not None:
            assert isinstance(value, str) and value.endswith("Z"), f"{where}.{name}: {value}"
        for nested in _models_in(annotation):
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                if item is not None:
                    assert_matches(nested, item, f"{where}.{name}[{index}]")


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= _PROBLEM_FIELDS, body
    assert (body["status"], body["code"]) == (status, code)


async def test_money_routes_answer_as_declared(api: Api, owner: str) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    payee = (await api.create_wallet(f"{owner}-payee"))["id"]
    assert_matches(WalletOut, await api.wallet(payer))

    key = str(uuid4())
    first = await api.move(payer, "transfer", {"to_wallet_id": payee, "amount": 100}, key=key)
    assert first.status_code == 201
    assert_matches(TransactionOut, first.json())
    replay = await api.move(payer, "transfer", {"to_wallet_id": payee, "amount": 100}, key=key)
    assert replay.content == first.content
    for action in ("deposit", "withdraw"):
        response = await api.move(payer, action, {"amount": 5})
        assert response.status_code == 201, response.text
        assert_matches(TransactionOut, response.json())
    as_user = await api.move(
        payer,
        "transfer",
        {"to_wallet_id": payee, "amount": 1},
        token=api.token(owner, Role.USER),
    )
    assert as_user.status_code == 201, as_user.text
    assert_matches(TransactionOut, as_user.json())

    ledger = await api.http.get(f"/v1/wallets/{payer}/ledger", headers=api.headers())
    assert_matches(LedgerPage, ledger.json())

    assert_problem(await api.move(payer, "withdraw", {"amount": 10**9}), 422, "insufficient_funds")
    assert_problem(await api.move(str(uuid4()), "deposit", {"amount": 1}), 404, "wallet_not_found")
    assert_problem(await api.move(payer, "deposit", {"amount": -1}), 422, "validation_error")
    assert_problem(
        await api.move(payer, "transfer", {"to_wallet_id": payee, "amount": 7}, key=key),
        422,
        "idempotency_key_reused",
    )


async def test_hold_routes_answer_as_declared(api: Api, owner: str) -> None:
    payer = await api.funded_wallet(owner, 1_000)
    driver = (await api.create_wallet(f"{owner}-driver"))["id"]
    created = await post(api, f"/v1/wallets/{payer}/holds", {"amount": 500})
    assert created.status_code == 201, created.text
    hold = created.json()
    assert_matches(HoldOut, hold)
    fetched = await api.http.get(f"/v1/holds/{hold['id']}", headers=api.headers())
    assert_matches(HoldOut, fetched.json())
    listed = await api.http.get(f"/v1/wallets/{payer}/holds", headers=api.headers())
    assert_matches(HoldPage, listed.json())
    adjusted = await post(api, f"/v1/holds/{hold['id']}/adjust", {"amount": 600})
    assert adjusted.status_code == 200, adjusted.text
    assert_matches(HoldOut, adjusted.json())

    captured = await post(
        api, f"/v1/holds/{hold['id']}/capture", {"amount": 400, "to_wallet_id": driver}
    )
    assert captured.status_code == 201, captured.text
    assert_matches(CaptureOut, captured.json())
    released = await post(api, f"/v1/holds/{hold['id']}/release", {}, key=None)
    assert released.status_code == 200, released.text
    assert_matches(HoldOut, released.json())

    refunded = await post(api, f"/v1/transactions/{captured.json()['id']}/refund", {"amount": 50})
    assert refunded.status_code == 201, refunded.text
    assert_matches(TransactionOut, refunded.json())

    assert_problem(await post(api, f"/v1/holds/{uuid4()}/capture", {}), 404, "hold_not_found")
    assert_problem(
        await post(api, f"/v1/holds/{hold['id']}/capture", {"amount": 1}), 409, "hold_not_active"
    )
    assert_problem(
        await post(api, f"/v1/transactions/{captured.json()['id']}/refund", {"amount": 10**6}),
        422,
        "refund_exceeded",
    )


async def test_events_answer_as_declared(api: Api, owner: str) -> None:
    payer = await api.funded_wallet(owner, 100)
    payee = (await api.create_wallet(f"{owner}-payee"))["id"]
    assert (
        await api.move(payer, "transfer", {"to_wallet_id": payee, "amount": 10})
    ).status_code == 201
    page = await api.http.get("/v1/events", params={"limit": 50}, headers=api.headers())
    assert page.status_code == 200, page.text
    assert_matches(EventPage, page.json())

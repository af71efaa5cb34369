"""The money routes' fast path (transfers/direct.py) answers exactly as FastAPI's routes do.

Two apps on one database: the suite's (fast path on) and one with it off. A posting made
through one is replayed through the other byte for byte, which holds only if both computed
the same fingerprint and render; refusals are compared answer for answer; and the fast path's
own count shows which requests it served and which it left to FastAPI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from tests.support import Api, started_app
from wallet.auth.tokens import Role
from wallet.config import Settings
from wallet.transfers.direct import DirectMoneyRoutes


@pytest.fixture
async def plain(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that sends the money routes through FastAPI."""
    async with started_app(settings.model_copy(update={"direct_money_routes": False})) as client:
        yield client


def _fast_path(app: FastAPI) -> DirectMoneyRoutes:
    layer: Any = app.middleware_stack
    while layer is not None:
        if isinstance(layer, DirectMoneyRoutes):
            return layer
        layer = getattr(layer, "app", None)
    raise AssertionError("the app has no fast path")


def _answer(answer: httpx.Response) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and the headers a client reads."""
    body: dict[str, Any] = answer.json()
    body.pop("trace_id", None)
    headers = {
        name: answer.headers[name]
        for name in ("content-type", "idempotent-replayed", "retry-after")
        if name in answer.headers
    }
    return answer.status_code, body, headers


async def _post(
    client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    if isinstance(body, bytes):
        return await client.post(path, content=body, headers=headers)
    return await client.post(path, json=body, headers=headers)


@pytest.mark.parametrize("first_through_fast_path", [True, False])
async def test_a_posting_replays_byte_for_byte_through_the_other_path(
    api: Api, app: FastAPI, plain: httpx.AsyncClient, owner: str, first_through_fast_path: bool
) -> None:
    source = await api.funded_wallet(owner, 10_000)
    target = (await api.create_wallet(f"{owner}-payee"))["id"]
    fast = _fast_path(app)
    moves = [
        ("deposit", source, {"amount": 700, "reference_id": "top-up", "metadata": {"k": 1}}),
        ("withdraw", source, {"amount": 300, "category": "PAYOUT"}),
        ("transfer", source, {"to_wallet_id": target, "amount": 250, "category": "RIDE"}),
    ]
    for action, wallet_id, body in moves:
        path = f"/v1/wallets/{wallet_id}/{action}"
        headers = api.headers(key=str(uuid4()))
        first, second = (api.http, plain) if first_through_fast_path else (plain, api.http)
        served_before = fast.served
        posted = await first.post(path, json=body, headers=headers)
        replayed = await second.post(path, json=body, headers=headers)
        assert posted.status_code == 201, posted.text
        assert replayed.status_code == 201, replayed.text
        assert replayed.headers["idempotent-replayed"] == "true"
        assert replayed.content == posted.content
        assert posted.headers["content-type"] == replayed.headers["content-type"]
        assert fast.served == served_before + 1  # exactly one of the two went the fast way


async def test_refusals_are_answered_as_fastapi_answers_them(
    api: Api, app: FastAPI, plain: httpx.AsyncClient, owner: str
) -> None:
    funded = await api.funded_wallet(owner, 500)
    frozen_owner = await api.funded_wallet(f"{owner}-other", 500)
    user = api.token(subject=f"{owner}-stranger", role=Role.USER)
    cases: list[tuple[str, str, Any, dict[str, str], bool]] = [
        # (action, wallet, body, headers, served by the fast path)
        ("withdraw", funded, {"amount": 10_000}, api.headers(key=str(uuid4())), True),
        (
            "transfer",
            funded,
            {"to_wallet_id": str(uuid4()), "amount": 5},
            api.headers(key=str(uuid4())),
            True,
        ),
        (
            "transfer",
            frozen_owner,
            {"to_wallet_id": funded, "amount": 5},
            api.headers(user, key=str(uuid4())),
            True,
        ),
        ("deposit", funded, {"amount": 5}, api.headers(user, key=str(uuid4())), False),
        (
            "deposit",
            funded,
            {"amount": 5},
            {"Authorization": "Bearer nope", "Idempotency-Key": "k"},
            False,
        ),
        ("deposit", funded, {"amount": 5}, api.headers(), False),
        ("deposit", funded, {"amount": 5}, api.headers(key="bad key"), False),
        ("deposit", funded, {"amount": -5}, api.headers(key=str(uuid4())), False),
        ("deposit", funded, {"amount": 5, "extra": 1}, api.headers(key=str(uuid4())), False),
        ("deposit", funded, b"{not json", api.headers(key=str(uuid4())), False),
        ("deposit", funded, b"[" * 5_000 + b"]" * 5_000, api.headers(key=str(uuid4())), False),
        ("transfer", funded, {"to_wallet_id": funded}, api.headers(key=str(uuid4())), False),
        (
            "transfer",
            funded,
            {"to_wallet_id": funded, "amount": 5},
            api.headers(key=str(uuid4())),
            True,
        ),
    ]
    fast = _fast_path(app)
    for action, wallet_id, body, headers, served_fast in cases:
        path = f"/v1/wallets/{wallet_id}/{action}"
        if isinstance(body, bytes):
            headers = {**headers, "Content-Type": "application/json"}
        served_before = fast.served
        through_fast = await _post(api.http, path, body, headers)
        through_plain = await _post(plain, path, body, headers)
        assert 400 <= through_fast.status_code < 500, (action, body, through_fast.text)
        assert _answer(through_fast) == _answer(through_plain), (action, body)
        assert fast.served == served_before + served_fast, (action, body, headers)
    assert (await api.wallet(funded))["balance"] == 500  # nothing moved


async def test_what_the_fast_path_does_not_read_the_same_way_goes_to_fastapi(
    api: Api, app: FastAPI, plain: httpx.AsyncClient, owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 500)
    headers = [
        ("Authorization", f"Bearer {api.token()}"),
        ("Authorization", "Bearer another"),
        ("Idempotency-Key", str(uuid4())),
        ("Content-Type", "application/json"),
    ]
    fast = _fast_path(app)
    served_before = fast.served
    path = f"/v1/wallets/{wallet_id}/withdraw"
    answer = await api.http.post(path, content=b'{"amount": 100}', headers=headers)
    assert fast.served == served_before
    assert answer.status_code == 201, answer.text  # FastAPI reads the first one
    # A wallet id in another spelling than the canonical one: FastAPI's to parse.
    answer = await api.move(wallet_id.upper(), "withdraw", {"amount": 50})
    assert answer.status_code == 201, answer.text
    assert fast.served == served_before
    assert (await api.wallet(wallet_id))["balance"] == 350

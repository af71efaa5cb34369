"""Wallet routes: create, get, list; roles and ownership."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from tests.support import Api
from wallet.auth.tokens import Role


async def test_create_wallet(api: Api, owner: str, db: asyncpg.Connection[Any]) -> None:
    response = await api.http.post(
        "/v1/wallets",
        json={"owner_id": owner, "currency": "EUR", "metadata": {"tier": "gold"}},
        headers=api.headers(),
    )
    assert response.status_code == 201
    wallet = response.json()
    assert wallet["owner_id"] == owner
    assert (wallet["currency"], wallet["balance"], wallet["held"], wallet["available"]) == (
        "EUR",
        0,
        0,
        0,
    )
    assert wallet["status"] == "ACTIVE"
    assert wallet["metadata"] == {"tier": "gold"}
    event = await db.fetchrow("SELECT * FROM outbox WHERE wallet_id = $1", wallet["id"])
    assert event is not None
    assert (event["event_type"], event["sequence"]) == ("wallet.created", 1)


async def test_one_wallet_per_owner_and_currency(api: Api, owner: str) -> None:
    await api.create_wallet(owner, "USD")
    again = await api.http.post(
        "/v1/wallets", json={"owner_id": owner, "currency": "USD"}, headers=api.headers()
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "wallet_already_exists"
    other_currency = await api.http.post(
        "/v1/wallets", json={"owner_id": owner, "currency": "JPY"}, headers=api.headers()
    )
    assert other_currency.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"owner_id": "x", "currency": "ABC"}, "currency"),
        ({"owner_id": "x", "currency": "XAU"}, "currency"),
        ({"owner_id": "x", "currency": "usd"}, "currency"),
        ({"owner_id": "", "currency": "USD"}, "owner_id"),
        ({"owner_id": "system:external", "currency": "USD"}, "owner_id"),
        ({"owner_id": "x y", "currency": "USD"}, "owner_id"),
        ({"owner_id": "x", "currency": "USD", "balance": 100}, "balance"),
        ({"owner_id": "x", "currency": "USD", "status": "FROZEN"}, "status"),
        ({"owner_id": "x", "currency": "USD", "metadata": {"a": "b" * 5000}}, "metadata"),
        ({"currency": "USD"}, "owner_id"),
    ],
)
async def test_invalid_wallet_requests_are_refused(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = await api.http.post("/v1/wallets", json=body, headers=api.headers())
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert any(field in error["loc"] for error in problem["errors"])


async def test_malformed_json_is_a_validation_problem(api: Api) -> None:
    response = await api.http.post(
        "/v1/wallets",
        content=b"{not json",
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_get_wallet(api: Api, owner: str) -> None:
    created = await api.create_wallet(owner)
    fetched = await api.wallet(created["id"])
    assert fetched == created


async def test_unknown_and_malformed_wallet_ids(api: Api) -> None:
    missing = await api.http.get(f"/v1/wallets/{uuid4()}", headers=api.headers())
    assert (missing.status_code, missing.json()["code"]) == (404, "wallet_not_found")
    malformed = await api.http.get("/v1/wallets/not-a-uuid", headers=api.headers())
    assert (malformed.status_code, malformed.json()["code"]) == (422, "validation_error")


async def test_users_see_only_their_own_wallets(api: Api, owner: str) -> None:
    mine = await api.create_wallet(owner)
    theirs = await api.create_wallet(f"{owner}-other")
    user = api.token(owner, Role.USER)
    own = await api.http.get(f"/v1/wallets/{mine['id']}", headers=api.headers(user))
    assert own.status_code == 200
    foreign = await api.http.get(f"/v1/wallets/{theirs['id']}", headers=api.headers(user))
    assert (foreign.status_code, foreign.json()["code"]) == (404, "wallet_not_found")


async def test_list_wallets_by_owner(api: Api, owner: str) -> None:
    usd = await api.create_wallet(owner, "USD")
    eur = await api.create_wallet(owner, "EUR")
    listed = await api.http.get("/v1/wallets", params={"owner_id": owner}, headers=api.headers())
    assert listed.status_code == 200
    assert [w["id"] for w in listed.json()["items"]] == [eur["id"], usd["id"]]

    user = api.token(owner, Role.USER)
    own = await api.http.get("/v1/wallets", headers=api.headers(user))
    assert len(own.json()["items"]) == 2
    foreign = await api.http.get(
        "/v1/wallets", params={"owner_id": "someone-else"}, headers=api.headers(user)
    )
    assert foreign.json()["items"] == []
    missing_owner = await api.http.get("/v1/wallets", headers=api.headers())
    assert missing_owner.status_code == 422


async def test_users_cannot_create_wallets(api: Api, owner: str) -> None:
    response = await api.http.post(
        "/v1/wallets",
        json={"owner_id": owner, "currency": "USD"},
        headers=api.headers(api.token(owner, Role.USER)),
    )
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz"]
)
async def test_missing_or_invalid_token_is_401(api: Api, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await api.http.get(f"/v1/wallets/{uuid4()}", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_token_signed_with_another_key_is_401(api: Api) -> None:
    from wallet.auth.tokens import issue_token

    foreign = issue_token(
        settings=api.settings.model_copy(
            update={"jwt_secret": "another-secret-entirely-32-bytes!"}
        ),
        subject="intruder",
        roles=[Role.ADMIN],
    )
    response = await api.http.get(f"/v1/wallets/{uuid4()}", headers=api.headers(foreign))
    assert response.status_code == 401

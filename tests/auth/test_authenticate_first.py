"""A request is authenticated before its body is judged: no token, no parser feedback."""

from __future__ import annotations

from uuid import uuid4

import pytest

from tests.support import Api
from wallet.auth.tokens import Role

MALFORMED = {
    "not JSON": b'{"amount": ',
    "not UTF-8": b'{"amount": "\xff\xfe"}',
    "wrong fields": b'{"nope": 1}',
}


@pytest.mark.parametrize("body", list(MALFORMED))
async def test_a_malformed_body_without_a_token_is_401(api: Api, body: str) -> None:
    response = await api.http.post(
        f"/v1/wallets/{uuid4()}/deposit",
        content=MALFORMED[body],
        headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid4())},
    )
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"


async def test_a_malformed_body_from_a_role_that_may_not_call_is_403(api: Api) -> None:
    response = await api.http.post(
        f"/v1/wallets/{uuid4()}/deposit",
        content=MALFORMED["not JSON"],
        headers={
            "Authorization": f"Bearer {api.token('rider-1', Role.USER)}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid4()),
        },
    )
    assert response.status_code == 403, response.text


async def test_an_authenticated_caller_still_learns_what_is_wrong(api: Api) -> None:
    response = await api.http.post(
        f"/v1/wallets/{uuid4()}/deposit",
        content=MALFORMED["not JSON"],
        headers={**api.headers(key=str(uuid4())), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


async def test_unknown_routes_stay_404_without_a_token(api: Api) -> None:
    assert (await api.http.post("/v1/nowhere", content=b"{")).status_code == 404

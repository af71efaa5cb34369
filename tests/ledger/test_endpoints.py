"""A wallet's ledger: newest first, keyset pages, capped size, ownership."""

from __future__ import annotations

from tests.support import Api
from wallet.auth.tokens import Role


async def test_ledger_pages_newest_first(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 1000)
    for amount in (1, 2, 3, 4):
        assert (await api.move(wallet_id, "withdraw", {"amount": amount})).status_code == 201

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await api.http.get(
            f"/v1/wallets/{wallet_id}/ledger", params=params, headers=api.headers()
        )
        assert page.status_code == 200
        body = page.json()
        seen.extend(item["amount"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [-4, -3, -2, -1, 1000]

    newest = (await api.http.get(f"/v1/wallets/{wallet_id}/ledger", headers=api.headers())).json()[
        "items"
    ][0]
    assert newest["type"] == "WITHDRAW"
    assert (newest["balance_before"], newest["balance_after"]) == (994, 990)
    assert newest["transaction_id"]


async def test_ledger_limit_is_capped_and_validated(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 10)
    huge = await api.http.get(
        f"/v1/wallets/{wallet_id}/ledger", params={"limit": 100000}, headers=api.headers()
    )
    assert huge.status_code == 200
    zero = await api.http.get(
        f"/v1/wallets/{wallet_id}/ledger", params={"limit": 0}, headers=api.headers()
    )
    assert zero.status_code == 422


async def test_a_forged_cursor_is_refused(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 10)
    for cursor in ("garbage!", "djI6MTA", "djE6LTE"):
        response = await api.http.get(
            f"/v1/wallets/{wallet_id}/ledger", params={"cursor": cursor}, headers=api.headers()
        )
        assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")


async def test_users_read_only_their_own_ledger(api: Api, owner: str) -> None:
    mine = await api.funded_wallet(owner, 10)
    theirs = await api.funded_wallet(f"{owner}-x", 10)
    user = api.token(owner, Role.USER)
    own = await api.http.get(f"/v1/wallets/{mine}/ledger", headers=api.headers(user))
    assert own.status_code == 200
    foreign = await api.http.get(f"/v1/wallets/{theirs}/ledger", headers=api.headers(user))
    assert foreign.status_code == 404

"""Creating and reading holds: reservation, idempotency, ownership, bad input."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
import pytest

from tests.holds.helpers import assert_ledger_consistent, create_hold, get_hold, post
from tests.support import Api
from wallet.auth.tokens import Role
from wallet.money import MAX_AMOUNT


async def test_a_hold_reserves_available_and_writes_journal_entry_and_event(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 1_000)
    hold = await create_hold(api, wallet_id, 400, reference_type="ride", reference_id="r-1")

    assert hold["status"] == "HELD"
    assert (hold["amount"], hold["captured"], hold["remaining"]) == (400, 0, 400)
    assert (hold["reference_type"], hold["reference_id"]) == ("ride", "r-1")
    created = datetime.fromisoformat(hold["created_at"])
    expires = datetime.fromisoformat(hold["expires_at"])
    assert expires - created == timedelta(seconds=1800)  # the configured default
    wallet = await api.wallet(wallet_id)
    assert (wallet["balance"], wallet["held"], wallet["available"]) == (1_000, 400, 600)
    assert await get_hold(api, hold["id"]) == hold

    entry = await db.fetchrow(
        """
        SELECT j.type, j.amount AS journal_amount, e.amount, e.held_before, e.held_after
        FROM journals j JOIN entries e ON e.journal_id = j.id WHERE j.hold_id = $1
        """,
        UUID(hold["id"]),
    )
    assert entry is not None
    assert dict(entry) == {
        "type": "HOLD",
        "journal_amount": 400,
        "amount": 0,
        "held_before": 0,
        "held_after": 400,
    }
    event = await db.fetchrow(
        "SELECT sequence, payload::text FROM outbox_documents"
        " WHERE wallet_id = $1 AND event_type = $2",
        UUID(wallet_id),
        "hold.created",
    )
    assert event is not None
    assert event["sequence"] == wallet["version"]
    assert orjson.loads(event["payload"])["hold"]["id"] == hold["id"]
    await assert_ledger_consistent(db, [wallet_id])


async def test_holding_more_than_available_is_refused_without_effect(
    api: Api, db: asyncpg.Connection[Any], owner: str
) -> None:
    wallet_id = await api.funded_wallet(owner, 1_000)
    await create_hold(api, wallet_id, 700)
    response = await post(api, f"/v1/wallets/{wallet_id}/holds", {"amount": 301})
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_funds"
    wallet = await api.wallet(wallet_id)
    assert (wallet["held"], wallet["available"]) == (700, 300)
    await assert_ledger_consistent(db, [wallet_id])


async def test_a_retried_hold_replays_the_first_answer(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 1_000)
    path = f"/v1/wallets/{wallet_id}/holds"
    first = await post(api, path, {"amount": 100}, key="ride-42")
    again = await post(api, path, {"amount": 100}, key="ride-42")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert (await api.wallet(wallet_id))["held"] == 100

    reused = await post(api, path, {"amount": 200}, key="ride-42")
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    missing = await post(api, path, {"amount": 100}, key=None)
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_required")


async def test_users_hold_and_release_on_their_own_wallets_only(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 1_000)
    other_wallet = await api.funded_wallet(f"other-{owner}", 1_000)
    user = api.token(owner, Role.USER)

    own = await create_hold(api, wallet_id, 100, token=user)
    foreign_create = await post(api, f"/v1/wallets/{other_wallet}/holds", {"amount": 1}, token=user)
    assert (foreign_create.status_code, foreign_create.json()["code"]) == (404, "wallet_not_found")

    foreign = await create_hold(api, other_wallet, 100)
    foreign_read = await api.http.get(f"/v1/holds/{foreign['id']}", headers=api.headers(user))
    assert (foreign_read.status_code, foreign_read.json()["code"]) == (404, "hold_not_found")
    foreign_release = await post(api, f"/v1/holds/{foreign['id']}/release", token=user)
    assert foreign_release.status_code == 404
    foreign_list = await api.http.get(
        f"/v1/wallets/{other_wallet}/holds", headers=api.headers(user)
    )
    assert foreign_list.status_code == 404
    assert (await get_hold(api, foreign["id"]))["status"] == "HELD"

    for action, body in (("capture", {}), ("adjust", {"amount": 50})):
        refused = await post(api, f"/v1/holds/{own['id']}/{action}", body, token=user)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")

    released = await post(
        api, f"/v1/holds/{own['id']}/release", {"reason": "cancelled"}, token=user
    )
    assert released.status_code == 200, released.text
    assert (released.json()["status"], released.json()["release_reason"]) == (
        "RELEASED",
        "cancelled",
    )
    assert (await api.wallet(wallet_id))["held"] == 0


async def test_listing_a_wallets_holds_filters_and_pages(api: Api, owner: str) -> None:
    wallet_id = await api.funded_wallet(owner, 1_000)
    holds = [await create_hold(api, wallet_id, 10 + n) for n in range(5)]
    await post(api, f"/v1/holds/{holds[1]['id']}/release")

    async def page(**params: Any) -> dict[str, Any]:
        response = await api.http.get(
            f"/v1/wallets/{wallet_id}/holds", params=params, headers=api.headers()
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    held = await page(status="HELD")
    assert [hold["id"] for hold in held["items"]] == [holds[n]["id"] for n in (4, 3, 2, 0)]
    first = await page(limit=3)
    second = await page(limit=3, cursor=first["next_cursor"])
    assert [hold["id"] for hold in first["items"] + second["items"]] == [
        hold["id"] for hold in reversed(holds)
    ]
    assert second["next_cursor"] is None
    assert (await page(status="RELEASED"))["items"][0]["status"] == "RELEASED"

    bad = await api.http.get(
        f"/v1/wallets/{wallet_id}/holds", params={"cursor": "nope"}, headers=api.headers()
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_cursor")


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount": 1.5},
        {"amount": "100"},
        {"amount": MAX_AMOUNT + 1},
        {"amount": 10, "surprise": True},
        {"amount": 10, "ttl_seconds": 0},
        {"amount": 10, "ttl_seconds": 7 * 24 * 3600 + 1},
        {"amount": 10, "metadata": {"blob": "x" * 5000}},
        {},
    ],
)
async def test_bad_hold_requests_are_4xx_and_change_nothing(
    api: Api, owner: str, body: dict[str, Any]
) -> None:
    wallet_id = await api.funded_wallet(owner, 1_000)
    response = await post(api, f"/v1/wallets/{wallet_id}/holds", body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (await api.wallet(wallet_id))["held"] == 0


async def test_unknown_and_malformed_ids_are_4xx(api: Api) -> None:
    missing = str(uuid4())
    assert (await post(api, f"/v1/wallets/{missing}/holds", {"amount": 1})).status_code == 404
    for action in ("capture", "adjust", "release"):
        body = {"amount": 1} if action == "adjust" else {}
        response = await post(api, f"/v1/holds/{missing}/{action}", body)
        assert (response.status_code, response.json()["code"]) == (404, "hold_not_found")
        malformed = await post(api, f"/v1/holds/not-a-uuid/{action}", body)
        assert malformed.status_code == 422
    assert (await api.http.get(f"/v1/holds/{missing}", headers=api.headers())).status_code == 404

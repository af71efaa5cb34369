"""GET /v1/events: every event, keyset-paginated, never skipping one that commits late."""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support import Api, engine_posting
from wallet.auth.tokens import Role


async def _read_feed(api: Api, after: str | None, limit: int = 1000) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if after is not None:
        params["after"] = after
    response = await api.http.get("/v1/events", params=params, headers=api.headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _feed_tail(api: Api) -> str | None:
    """A cursor at the current end of the feed."""
    cursor = None
    while True:
        page = await _read_feed(api, cursor)
        if not page["items"]:
            return cursor
        cursor = page["next_cursor"]


async def _insert_event(conn: Any, wallet_id: Any, sequence: int) -> str:
    event_id = uuid4()
    await conn.execute(
        """
        INSERT INTO outbox (event_id, event_type, wallet_id, sequence, feed_xid, payload,
                            trace_id)
        VALUES ($1, 'wallet.test.feed', $2, $3, outbox_feed_position($2), '{}', 'feed-test')
        """,
        event_id,
        wallet_id,
        sequence,
    )
    return str(event_id)


async def test_feed_serves_cloudevents_of_money_movements_page_by_page(
    api: Api, owner: str
) -> None:
    start = await _feed_tail(api)
    source = await api.funded_wallet(owner, 1_000)
    target = await api.create_wallet(f"{owner}-b")
    for amount in (100, 200, 300):
        response = await api.move(
            source, "transfer", {"to_wallet_id": target["id"], "amount": amount}
        )
        assert response.status_code == 201

    items, cursor = [], start
    while True:
        page = await _read_feed(api, cursor, limit=2)
        assert len(page["items"]) <= 2
        if not page["items"]:
            break
        items += page["items"]
        cursor = page["next_cursor"]
    mine = [item for item in items if item["subject"] in {source, target["id"]}]
    by_wallet = {
        wallet: [(item["sequence"], item["type"]) for item in mine if item["subject"] == wallet]
        for wallet in (source, target["id"])
    }
    transfers = [(seq, "wallet.transfer.completed") for seq in (3, 4, 5)]
    assert by_wallet[source] == [
        (1, "wallet.created"),
        (2, "wallet.deposit.completed"),
        *transfers,
    ]
    assert by_wallet[target["id"]] == [(1, "wallet.created"), *[(s - 1, t) for s, t in transfers]]
    last = mine[-1]
    assert last["specversion"] == "1.0" and last["data"]["wallet"]["balance"] == 600
    assert last["data"]["transaction"]["amount"] == 300
    assert len({item["id"] for item in items}) == len(items)
    empty = await _read_feed(api, cursor)
    assert empty == {"items": [], "next_cursor": cursor}


async def test_event_committing_late_with_a_smaller_id_is_not_skipped(
    api: Api, database_url: str
) -> None:
    import asyncpg

    early, late = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        start = await _feed_tail(api)
        wallet_id = uuid4()
        # `early` takes its transaction id first; `late` then takes the smaller outbox id.
        early_tx, late_tx = early.transaction(), late.transaction()
        await early_tx.start()
        await early.fetchval("SELECT pg_current_xact_id()")
        await late_tx.start()
        late_event = await _insert_event(late, wallet_id, 1)
        early_event = await _insert_event(early, uuid4(), 1)
        await early_tx.commit()

        first = await _read_feed(api, start)
        # `late` is still running: its event cannot be served yet, and neither may the page
        # move past it. A reader paging by id alone would now be past it for good.
        assert late_event not in {item["id"] for item in first["items"]}
        await late_tx.commit()

        second = await _read_feed(api, first["next_cursor"])
        served = [item["id"] for item in first["items"] + second["items"]]
        assert late_event in served and early_event in served
        assert served.count(late_event) == 1 and served.count(early_event) == 1
    finally:
        await early.close()
        await late.close()


async def test_feed_keeps_each_wallets_sequence_order(api: Api, database_url: str) -> None:
    """A wallet's later event may belong to an older transaction; the feed still orders it."""
    import asyncpg

    older, newer = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        start = await _feed_tail(api)
        wallet_id = uuid4()
        older_tx, newer_tx = older.transaction(), newer.transaction()
        await older_tx.start()
        await older.fetchval("SELECT pg_current_xact_id()")
        await newer_tx.start()
        first_event = await _insert_event(newer, wallet_id, 1)
        await newer_tx.commit()
        second_event = await _insert_event(older, wallet_id, 2)
        await older_tx.commit()

        page = await _read_feed(api, start)
        served = [item["id"] for item in page["items"] if item["subject"] == str(wallet_id)]
        assert served == [first_event, second_event]
    finally:
        await older.close()
        await newer.close()


async def test_engine_keeps_each_wallets_sequence_order_in_the_feed(
    api: Api, owner: str, database_url: str
) -> None:
    """The engine's events take their place after the wallet's latest event from the locked
    wallet row: a posting by an older transaction, after a newer one's, still comes second."""
    import asyncpg

    wallet_id = str((await api.create_wallet(owner))["id"])
    older, newer = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        start = await _feed_tail(api)
        older_tx, newer_tx = older.transaction(), newer.transaction()
        await older_tx.start()
        await older.fetchval("SELECT pg_current_xact_id()")
        await newer_tx.start()
        await newer.execute(
            "SELECT * FROM ledger_post_json($1::jsonb)",
            json.dumps([engine_posting(wallet_id, None, 1)]),
        )
        await newer_tx.commit()
        await older.execute(
            "SELECT * FROM ledger_post_json($1::jsonb)",
            json.dumps([engine_posting(wallet_id, None, 1)]),
        )
        await older_tx.commit()

        page = await _read_feed(api, start)
        served = [item["sequence"] for item in page["items"] if item["subject"] == wallet_id]
        assert served == sorted(served) and len(served) == 2
    finally:
        await older.close()
        await newer.close()


async def test_a_batchs_events_page_by_wallet_within_their_shared_position(
    api: Api, owner: str, db: Any
) -> None:
    """A batch's events share one feed position (the index keeps one key for them,
    migrations/0017): pages smaller than the batch still serve each once, by wallet and
    sequence (the rows store no id: migrations/0021)."""
    wallets = [str((await api.create_wallet(f"{owner}-{n}"))["id"]) for n in range(7)]
    start = await _feed_tail(api)
    await db.execute(
        "SELECT * FROM ledger_post_json($1::jsonb)",
        json.dumps([engine_posting(wallet, None, 1) for wallet in wallets]),
    )
    written = await db.fetch(
        """SELECT event_id, feed_xid::text AS position FROM outbox_documents
           WHERE wallet_id = ANY($1::uuid[]) AND journal_id IS NOT NULL
           ORDER BY wallet_id, sequence""",
        wallets,
    )
    assert len(written) == 7 and len({row["position"] for row in written}) == 1

    served, cursor = [], start
    while True:
        page = await _read_feed(api, cursor, limit=3)
        if not page["items"]:
            break
        served += [item["id"] for item in page["items"] if item["subject"] in wallets]
        cursor = page["next_cursor"]
    assert served == [str(row["event_id"]) for row in written]


async def test_a_cursor_of_before_0021_goes_on_without_skipping(api: Api, db: Any) -> None:
    """Events written before migrations/0021 keep their row ids, and a cursor handed out then
    names one, (feed_xid, id), from when a transaction's events went in id order. Read with
    it, the feed goes on just before that transaction's first event (by wallet) with a larger
    id: none of those is lost, and what it serves again is only what sorts after that one."""
    wallets = sorted(uuid4() for _ in range(6))
    ids = [1, 4, 2, 6, 3, 5]  # wallets[1], [3] and [5] come after id 3
    base = 10**15
    async with db.transaction():
        position = await db.fetchval("SELECT pg_current_xact_id()::text")
        for legacy_id, wallet in zip(ids, wallets, strict=True):
            await db.execute(
                """INSERT INTO outbox (id, event_id, event_type, wallet_id, sequence, feed_xid,
                                       payload, trace_id)
                   VALUES ($1, gen_random_uuid(), 'wallet.test.feed', $2, 1,
                           pg_current_xact_id(), '{}', 'feed-test')""",
                base + legacy_id,
                wallet,
            )

    def legacy(outbox_id: int) -> str:
        text = f"e1:{position}:{base + outbox_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def served_wallets(page: dict[str, Any]) -> list[str]:
        mine = {str(wallet) for wallet in wallets}
        return [item["subject"] for item in page["items"] if item["subject"] in mine]

    given_up_to_3 = await _read_feed(api, legacy(3))
    assert served_wallets(given_up_to_3) == [str(wallet) for wallet in wallets[1:]]
    given_all = await _read_feed(api, legacy(6))
    assert served_wallets(given_all) == []
    # And the answer's own cursor is of today's kind, which goes on after it.
    after = await _read_feed(api, given_up_to_3["next_cursor"])
    assert served_wallets(after) == []


@pytest.mark.parametrize(
    ("role", "status"), [(Role.USER, 403), (Role.PAYMENTS, 200), (Role.ADMIN, 200)]
)
async def test_feed_is_for_platform_roles_only(api: Api, role: Role, status: int) -> None:
    response = await api.http.get("/v1/events", headers=api.headers(api.token("someone", role)))
    assert response.status_code == status


async def test_feed_refuses_bad_requests_without_a_500(http: httpx.AsyncClient, api: Api) -> None:
    assert (await http.get("/v1/events")).status_code == 401
    for params, code in (
        ({"after": "garbage"}, "invalid_cursor"),
        ({"limit": "0"}, "validation_error"),
        ({"limit": "many"}, "validation_error"),
        ({"after": "x" * 500}, "validation_error"),
    ):
        response = await http.get("/v1/events", params=params, headers=api.headers())
        assert response.status_code in (400, 422), response.text
        assert response.json()["code"] == code

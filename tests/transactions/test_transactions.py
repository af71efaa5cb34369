"""Transactions as a resource: lookup and search honour ownership; paging is exact while
postings continue; balance at an instant agrees with the entries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.holds.helpers import create_hold
from tests.support import Api
from wallet.auth.tokens import Role
from wallet.ledger import repository
from wallet.ledger.core import Posting, PostingContext, deposit_legs


async def _get(api: Api, path: str, token: str | None = None, **params: Any) -> httpx.Response:
    return await api.http.get(path, params=params, headers=api.headers(token))


async def test_lookup_honours_ownership(api: Api, owner: str) -> None:
    payer = await api.funded_wallet(owner, 1000)
    payee = (await api.create_wallet(f"{owner}-payee"))["id"]
    moved = await api.move(payer, "transfer", {"to_wallet_id": payee, "amount": 300})
    assert moved.status_code == 201
    transaction_id = moved.json()["id"]
    path = f"/v1/transactions/{transaction_id}"

    full = await _get(api, path)
    assert full.status_code == 200
    assert full.json() == moved.json()  # the one rendering

    for me, other in ((owner, f"{owner}-payee"), (f"{owner}-payee", owner)):
        seen = await _get(api, path, api.token(me, Role.USER))
        assert seen.status_code == 200, seen.text
        mine = payer if me == owner else payee
        theirs = payee if me == owner else payer
        entries = {e["wallet_id"]: e for e in seen.json()["entries"]}
        assert "balance_after" in entries[mine]
        assert "balance_after" not in entries[theirs], f"{me} sees {other}'s balance"

    stranger = await _get(api, path, api.token(f"{owner}-stranger", Role.USER))
    assert stranger.status_code == 404
    assert stranger.json()["code"] == "transaction_not_found"
    missing = await _get(api, f"/v1/transactions/{uuid4()}")
    assert missing.status_code == 404


async def test_search_honours_ownership_and_filters(api: Api, owner: str) -> None:
    run = uuid4().hex
    mine = await api.funded_wallet(owner, 1000)
    other = await api.funded_wallet(f"{owner}-other", 1000)
    out = await api.move(
        mine,
        "transfer",
        {
            "to_wallet_id": other,
            "amount": 10,
            "reference_id": f"ride-{run}",
            "category": "RIDE",
            "metadata": {"run": run, "leg": "out"},
        },
    )
    back = await api.move(
        other,
        "transfer",
        {"to_wallet_id": mine, "amount": 5, "metadata": {"run": run, "leg": "back"}},
    )
    theirs = await api.move(other, "withdraw", {"amount": 1, "metadata": {"run": run}})
    ids = {name: r.json()["id"] for name, r in (("out", out), ("back", back), ("theirs", theirs))}

    def found(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    user = api.token(owner, Role.USER)
    by_run = {"metadata[run]": run}
    # A user: what touched its wallets, newest first; never the other owner's withdrawal.
    assert found(await _get(api, "/v1/transactions", user, **by_run)) == [ids["back"], ids["out"]]
    assert found(await _get(api, "/v1/transactions", user, wallet_id=mine, **by_run)) == [
        ids["back"],
        ids["out"],
    ]
    foreign = await _get(api, "/v1/transactions", user, wallet_id=other)
    assert foreign.status_code == 404
    # A platform caller: everything, by any filter.
    assert found(await _get(api, "/v1/transactions", **by_run)) == [
        ids["theirs"],
        ids["back"],
        ids["out"],
    ]
    assert found(await _get(api, "/v1/transactions", reference_id=f"ride-{run}")) == [ids["out"]]
    assert found(
        await _get(api, "/v1/transactions", wallet_id=other, type="WITHDRAW", **by_run)
    ) == [ids["theirs"]]
    assert found(await _get(api, "/v1/transactions", category="RIDE", **by_run)) == [ids["out"]]
    assert found(
        await _get(api, "/v1/transactions", **{"metadata[run]": run, "metadata[leg]": "back"})
    ) == [ids["back"]]
    created = datetime.fromisoformat(back.json()["created_at"])
    assert found(await _get(api, "/v1/transactions", created_to=created.isoformat(), **by_run)) == [
        ids["out"]
    ]
    assert ids["out"] not in found(
        await _get(api, "/v1/transactions", created_from=created.isoformat(), **by_run)
    )
    # The user sees its own balances only, also in a search.
    (out_seen,) = [
        item
        for item in (await _get(api, "/v1/transactions", user, **by_run)).json()["items"]
        if item["id"] == ids["out"]
    ]
    entries = {e["wallet_id"]: e for e in out_seen["entries"]}
    assert "balance_after" in entries[mine] and "balance_after" not in entries[other]
    bad = await _get(api, "/v1/transactions", cursor="bm90LWEtY3Vyc29y")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


async def _page_through(api: Api, **params: Any) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 7, **({"cursor": cursor} if cursor else {})}
        response = await _get(api, "/v1/transactions", **query)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_paging_returns_every_row_once_while_postings_continue(api: Api, owner: str) -> None:
    run = uuid4().hex
    wallet = await api.funded_wallet(owner, 100_000)
    sink = (await api.create_wallet(f"{owner}-sink"))["id"]

    async def transfer() -> str:
        response = await api.move(
            wallet, "transfer", {"to_wallet_id": sink, "amount": 1, "metadata": {"run": run}}
        )
        assert response.status_code == 201
        return str(response.json()["id"])

    existing = [await transfer() for _ in range(40)]
    for params in ({"metadata[run]": run}, {"wallet_id": sink}):
        stop = asyncio.Event()

        async def keep_posting(stop: asyncio.Event = stop) -> None:
            while not stop.is_set():
                await transfer()

        writer = asyncio.create_task(keep_posting())
        try:
            seen = await _page_through(api, **params)
        finally:
            stop.set()
            await writer
        assert len(seen) == len(set(seen)), f"a row repeated ({params})"
        assert set(existing) <= set(seen), f"a row was skipped ({params})"
        # Newest first, as the rows were written one after another.
        positions = [seen.index(transaction) for transaction in existing]
        assert positions == sorted(positions, reverse=True)


async def test_balance_at_agrees_with_the_entries(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    wallet = await api.funded_wallet(owner, 500)
    other = (await api.create_wallet(f"{owner}-b"))["id"]
    for step in range(12):
        if step % 4 == 1:
            await create_hold(api, wallet, 20)
        elif step % 4 == 2:
            await api.move(wallet, "transfer", {"to_wallet_id": other, "amount": 15})
        elif step % 4 == 3:
            await api.move(wallet, "withdraw", {"amount": 9999})  # refused: no entry
        else:
            await api.move(wallet, "deposit", {"amount": 7})
        await asyncio.sleep(0.003)  # distinct instants between postings
    entries = await db.fetch(
        "SELECT created_at, amount, held_after - held_before AS held_delta FROM entries"
        " WHERE wallet_id = $1 ORDER BY id",
        wallet,
    )
    first, last = entries[0]["created_at"], entries[-1]["created_at"]
    span_us = int((last - first) / timedelta(microseconds=1))
    loop = asyncio.get_running_loop()

    async def compare(at: datetime) -> None:
        response = await _get(api, f"/v1/wallets/{wallet}/balance", at=at.isoformat())
        assert response.status_code == 200, response.text
        upto = [e for e in entries if e["created_at"] <= at]
        balance = sum(e["amount"] for e in upto)
        held = sum(e["held_delta"] for e in upto)
        assert response.json() == {
            "wallet_id": wallet,
            "at": response.json()["at"],
            "balance": balance,
            "held": held,
            "available": balance - held,
        }
        assert datetime.fromisoformat(response.json()["at"]) == at

    instants = st.one_of(
        st.integers(-1_000_000, span_us + 1_000_000),
        st.sampled_from(
            [int((e["created_at"] - first) / timedelta(microseconds=1)) for e in entries]
        ),
    )

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(offset_us=instants, zone_hours=st.integers(-12, 12))
    def check(offset_us: int, zone_hours: int) -> None:
        at = (first + timedelta(microseconds=offset_us)).astimezone(
            UTC if zone_hours == 0 else timezone(timedelta(hours=zone_hours))
        )
        asyncio.run_coroutine_threadsafe(compare(at), loop).result()

    await asyncio.to_thread(check)
    foreign = await _get(
        api,
        f"/v1/wallets/{wallet}/balance",
        api.token(f"{owner}-x", Role.USER),
        at=datetime.now(UTC).isoformat(),
    )
    assert foreign.status_code == 404
    naive = await _get(api, f"/v1/wallets/{wallet}/balance", at="2026-01-01T00:00:00")
    assert naive.status_code == 422


async def test_a_posting_that_started_first_but_locked_last_is_timed_after_the_other(
    api: Api, owner: str, app: Any
) -> None:
    """A batch whose transaction began before another's, and that takes the wallet's lock
    after it, is timed after it: each wallet's entries stay in time order along its chain, so
    its balance at the later posting's instant is that posting's balance, not one that
    already counts a movement timed before it."""
    wallet = await api.funded_wallet(owner, 100)
    posting = Posting(
        context=PostingContext(
            caller="timing-test", idempotency_key=None, fingerprint="f", trace_id="t"
        ),
        journal_id=uuid4(),
        journal_type="DEPOSIT",
        event_type="wallet.deposit.completed",
        wallet_id=UUID(wallet),
        amount=5,
        legs=deposit_legs(UUID(wallet), 5),
    )
    async with app.state.pool.acquire() as early, early.transaction():
        began = await early.fetchval("SELECT now()")
        await asyncio.sleep(0.02)
        moved = await api.move(wallet, "deposit", {"amount": 7})  # commits meanwhile
        assert moved.status_code == 201, moved.text
        (result,) = await repository.post(early, [posting])
        assert result.outcome == "posted"
    rows = await app.state.pool.fetch(
        "SELECT e.created_at, j.created_at AS journal_at, e.balance_after FROM entries e"
        " JOIN journals j ON j.id = e.journal_id WHERE e.wallet_id = $1 ORDER BY e.id",
        UUID(wallet),
    )
    times = [row["created_at"] for row in rows]
    assert [row["balance_after"] for row in rows] == [100, 107, 112]
    assert times == sorted(set(times)) and times[-1] > began
    assert all(row["created_at"] == row["journal_at"] for row in rows)
    # At the middle deposit's instant the wallet held 107: the late one is timed after it.
    middle = times[1]
    response = await _get(api, f"/v1/wallets/{wallet}/balance", at=middle.isoformat())
    assert response.status_code == 200, response.text
    assert response.json()["balance"] == 107

"""Random sequences of grants, rides, withdrawals, refunds and expiries against a model of
the rules: the service's balance, promotional, withdrawable and every grant's remaining match
it after each step, and the stored invariants hold."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.credits.helpers import assert_promotional_consistent, expire, granted
from tests.holds.helpers import capture
from tests.support import Api
from wallet.credits.tasks import expire_due_credits

step = st.one_of(
    st.tuples(st.just("grant"), st.integers(1, 60), st.integers(1, 9)),
    st.tuples(st.just("ride"), st.integers(1, 120), st.just(0)),
    st.tuples(st.just("withdraw"), st.integers(1, 80), st.just(0)),
    st.tuples(st.just("refund"), st.integers(1, 80), st.integers(0, 5)),
    st.tuples(st.just("expire"), st.integers(0, 5), st.just(0)),
)


@dataclass
class Grant:
    id: str
    days: int
    n: int  # creation order: the tie-break after expiry (ids are time-ordered)
    remaining: int
    expired: bool = False


@dataclass
class Ride:
    id: str
    spent: int
    promo: int
    uses: dict[str, int]
    returned: dict[str, int] = field(default_factory=dict)
    refunded: int = 0


@dataclass
class Model:
    cash: int
    grants: list[Grant] = field(default_factory=list)
    rides: list[Ride] = field(default_factory=list)

    @property
    def promotional(self) -> int:
        return sum(g.remaining for g in self.grants if not g.expired)


async def test_random_sequences_keep_the_rules(api: Api, owner: str, app: FastAPI) -> None:
    loop = asyncio.get_running_loop()

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(plan=st.lists(step, min_size=1, max_size=14), cash=st.integers(0, 200))
    def check(plan: list[tuple[str, int, int]], cash: int) -> None:
        asyncio.run_coroutine_threadsafe(_run(api, owner, app, plan, cash), loop).result()

    await asyncio.to_thread(check)


async def _run(
    api: Api, owner: str, app: FastAPI, plan: list[tuple[str, int, int]], cash: int
) -> None:
    tag = uuid4().hex[:8]
    wallet_id = (await api.create_wallet(f"{owner}-{tag}"))["id"]
    driver = (await api.create_wallet(f"{owner}-{tag}-driver"))["id"]
    if cash:
        assert (await api.move(wallet_id, "deposit", {"amount": cash})).status_code == 201
    model = Model(cash=cash)
    db = app.state.pool
    for kind, a, b in plan:
        if kind == "grant":
            body = await granted(api, wallet_id, a, days=b)
            model.grants.append(Grant(body["id"], b, len(model.grants), a))
        elif kind == "ride":
            hold = await api.http.post(
                f"/v1/wallets/{wallet_id}/holds",
                json={"amount": a},
                headers=api.headers(key=str(uuid4())),
            )
            if model.cash + model.promotional < a:
                assert hold.json()["code"] == "insufficient_funds"
                continue
            assert hold.status_code == 201, hold.text
            done = await capture(
                api, hold.json()["id"], {"splits": [{"to_wallet_id": driver, "amount": a}]}
            )
            assert done.status_code == 201, done.text
            uses, left = {}, a
            for g in sorted(model.grants, key=lambda g: (g.days, g.n)):
                if g.expired or left == 0 or g.remaining == 0:
                    continue
                taken = min(g.remaining, left)
                g.remaining -= taken
                left -= taken
                uses[g.id] = taken
            model.cash -= left
            model.rides.append(Ride(done.json()["id"], a, a - left, uses))
        elif kind == "withdraw":
            answer = await api.move(wallet_id, "withdraw", {"amount": a})
            if a <= model.cash:
                assert answer.status_code == 201, answer.text
                model.cash -= a
            elif a <= model.cash + model.promotional:
                assert answer.json()["code"] == "insufficient_withdrawable_funds"
            else:
                assert answer.json()["code"] == "insufficient_funds"
        elif kind == "refund":
            if not model.rides:
                continue
            ride = model.rides[b % len(model.rides)]
            amount = min(a, ride.spent - ride.refunded)
            if amount == 0:
                continue
            answer = await api.http.post(
                f"/v1/transactions/{ride.id}/refund",
                json={"amount": amount},
                headers=api.headers(key=str(uuid4())),
            )
            assert answer.status_code == 201, answer.text
            cash_spent = ride.spent - ride.promo
            promo_part = max(0, ride.refunded + amount - cash_spent) - max(
                0, ride.refunded - cash_spent
            )
            model.cash += amount - promo_part
            ride.refunded += amount
            by_id = {g.id: g for g in model.grants}
            for gid in sorted(ride.uses, key=lambda i: (-by_id[i].days, -by_id[i].n)):
                g = by_id[gid]
                room = ride.uses[gid] - ride.returned.get(gid, 0)
                if g.expired or promo_part == 0 or room == 0:
                    continue
                back = min(room, promo_part)
                g.remaining += back
                ride.returned[gid] = ride.returned.get(gid, 0) + back
                promo_part -= back
            # what is left of promo_part went back to PROMOTIONS (breakage)
        elif kind == "expire":
            live = [g for g in model.grants if not g.expired]
            if not live:
                continue
            g = live[a % len(live)]
            async with db.acquire() as conn:
                await expire(conn, g.id)
            await expire_due_credits(db)
            g.expired = True
            g.remaining = 0
        await _check(api, app, model, wallet_id, driver)


async def _check(api: Api, app: FastAPI, model: Model, wallet_id: str, driver: str) -> None:
    wallet = await api.wallet(wallet_id)
    expected = (model.cash + model.promotional, model.promotional, max(0, model.cash))
    assert (wallet["balance"], wallet["promotional"], wallet["withdrawable"]) == expected
    async with app.state.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id::text, remaining FROM credit_grants WHERE wallet_id = $1", UUID(wallet_id)
        )
        assert {r["id"]: r["remaining"] for r in rows} == {g.id: g.remaining for g in model.grants}
        await assert_promotional_consistent(conn, [wallet_id, driver])

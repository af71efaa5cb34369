"""Random sequences of deposit / transfer / hold / adjust / capture / release / expire / refund
against an in-memory model: after every step the API agrees with the model and the ledger
conserves money.

Hypothesis drives the machine synchronously, so it runs in a worker thread and sends each
call to the test session's event loop, where the app and the database connection live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID, uuid4

import asyncpg
import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from tests.holds.helpers import (
    assert_ledger_consistent,
    balance_of,
    make_due,
    post,
    system_wallet_shards,
)
from tests.holds.model import Expect, Model, ModelHold
from tests.support import Api
from wallet.holds.tasks import expire_due_holds
from wallet.ledger.core import CaptureShare

T = TypeVar("T")
USERS = 3
amounts = st.integers(min_value=1, max_value=3_000)
user_index = st.integers(min_value=0, max_value=USERS - 1)


@dataclass(frozen=True)
class Env:
    api: Api
    app: FastAPI
    db: asyncpg.Connection[Any]
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)


def _answer(response: httpx.Response) -> Expect:
    code = response.json().get("code") if response.status_code >= 400 else None
    return (response.status_code, code)


def _recipient(wallet_id: UUID | None) -> dict[str, str]:
    return {} if wallet_id is None else {"to_wallet_id": str(wallet_id)}


def machine_for(env: Env) -> type[RuleBasedStateMachine]:
    class LedgerMachine(RuleBasedStateMachine):
        holds = Bundle("holds")
        transactions = Bundle("transactions")

        def __init__(self) -> None:
            super().__init__()
            run_id = uuid4().hex[:8]
            self.wallets = [
                UUID(env.run(env.api.create_wallet(f"model-{run_id}-{n}"))["id"])
                for n in range(USERS)
            ]
            settlement = env.run(env.db.fetchval("SELECT system_wallet_id('SETTLEMENT', 'USD')"))
            # A system wallet is spread over shards: any of them stands for it.
            self.settlement_shards = env.run(system_wallet_shards(env.db, settlement))
            self.model = Model(
                settlement_id=settlement,
                balances={
                    **{wallet_id: 0 for wallet_id in self.wallets},
                    settlement: env.run(balance_of(env.db, settlement)),
                },
            )
            for wallet_id in self.wallets:  # enough to start with that most holds succeed
                self.deposit_to(wallet_id, 10_000)

        def call(self, path: str, body: dict[str, Any]) -> httpx.Response:
            return env.run(post(env.api, path, body))

        def deposit_to(self, wallet_id: UUID, amount: int) -> None:
            response = self.call(f"/v1/wallets/{wallet_id}/deposit", {"amount": amount})
            assert _answer(response) == self.model.deposit(wallet_id, amount)

        @rule(user=user_index, amount=amounts)
        def deposit(self, user: int, amount: int) -> None:
            self.deposit_to(self.wallets[user], amount)

        @rule(
            target=transactions, source=user_index, step=st.integers(1, USERS - 1), amount=amounts
        )
        def transfer(self, source: int, step: int, amount: int) -> Any:
            payer, payee = self.wallets[source], self.wallets[(source + step) % USERS]
            response = self.call(
                f"/v1/wallets/{payer}/transfer", {"to_wallet_id": str(payee), "amount": amount}
            )
            assert _answer(response) == self.model.transfer(payer, payee, amount)
            if response.status_code != 201:
                return multiple()
            self.model.record_refundable(response.json()["id"], payer, {payee: amount})
            return response.json()["id"]

        @rule(target=holds, user=user_index, amount=amounts)
        def create_hold(self, user: int, amount: int) -> Any:
            wallet_id = self.wallets[user]
            response = self.call(f"/v1/wallets/{wallet_id}/holds", {"amount": amount})
            assert _answer(response) == self.model.create_hold(wallet_id, amount)
            if response.status_code != 201:
                return multiple()
            hold_id: str = response.json()["id"]
            self.model.holds[hold_id] = Model.new_hold(wallet_id, amount)
            return hold_id

        @rule(hold_id=holds, amount=st.integers(min_value=1, max_value=4_000))
        def adjust(self, hold_id: str, amount: int) -> None:
            response = self.call(f"/v1/holds/{hold_id}/adjust", {"amount": amount})
            assert _answer(response) == self.model.adjust(self.model.holds[hold_id], amount)

        def recipients_of(self, hold: ModelHold, picks: list[int]) -> list[UUID | None]:
            """Distinct recipients other than the payer; None is the settlement wallet."""
            candidates = [w for w in self.wallets if w != hold.wallet_id] + [None]
            return list(dict.fromkeys(candidates[n % len(candidates)] for n in picks))

        @rule(target=transactions, hold_id=holds, pick=st.integers(0, USERS), final=st.booleans())
        def capture_all(self, hold_id: str, pick: int, final: bool) -> Any:
            hold = self.model.holds[hold_id]
            (target,) = self.recipients_of(hold, [pick])
            shares = (CaptureShare(amount=hold.remaining, wallet_id=target),)
            return self.capture(hold_id, {"final": final} | _recipient(target), shares, final)

        @rule(
            target=transactions,
            hold_id=holds,
            picks=st.lists(st.integers(0, USERS), min_size=1, max_size=2, unique=True),
            parts=st.lists(st.integers(1, 1_500), min_size=2, max_size=2),
            final=st.booleans(),
        )
        def capture_part(
            self, hold_id: str, picks: list[int], parts: list[int], final: bool
        ) -> Any:
            targets = self.recipients_of(self.model.holds[hold_id], picks)
            shares = tuple(
                CaptureShare(amount=part, wallet_id=target)
                for target, part in zip(targets, parts, strict=False)
            )
            splits = [{"amount": share.amount} | _recipient(share.wallet_id) for share in shares]
            return self.capture(hold_id, {"splits": splits, "final": final}, shares, final)

        def capture(
            self, hold_id: str, body: dict[str, Any], shares: tuple[CaptureShare, ...], final: bool
        ) -> Any:
            hold = self.model.holds[hold_id]
            response = self.call(f"/v1/holds/{hold_id}/capture", body)
            assert _answer(response) == self.model.capture(hold, shares, final)
            if response.status_code != 201:
                return multiple()
            received = {s.wallet_id or self.model.settlement_id: s.amount for s in shares}
            self.model.record_refundable(response.json()["id"], hold.wallet_id, received)
            return response.json()["id"]

        @rule(hold_id=holds, by_worker=st.booleans())
        def close(self, hold_id: str, by_worker: bool) -> None:
            """Release the hold, or let its deadline pass and the expiry worker run."""
            hold = self.model.holds[hold_id]
            if not by_worker:
                response = self.call(f"/v1/holds/{hold_id}/release", {})
                assert _answer(response) == self.model.close(hold, "RELEASED")
                return
            if hold.status == "HELD":
                env.run(make_due(env.db, hold_id))
            env.run(expire_due_holds(env.app.state.pool))
            if hold.status == "HELD":
                self.model.close(hold, "EXPIRED")

        @rule(journal_id=transactions, amount=st.one_of(st.none(), amounts))
        def refund(self, journal_id: str, amount: int | None) -> None:
            body = {} if amount is None else {"amount": amount}
            response = self.call(f"/v1/transactions/{journal_id}/refund", body)
            expected, entries = self.model.refund(journal_id, amount)
            assert _answer(response) == expected
            if response.status_code == 201:
                got = {
                    self.model.settlement_id
                    if e["wallet_id"] in self.settlement_shards
                    else UUID(e["wallet_id"]): e["amount"]
                    for e in response.json()["entries"]
                }
                assert got == entries

        @invariant()
        def api_agrees_with_model(self) -> None:
            env.run(self._check())

        async def _check(self) -> None:
            for wallet_id in self.wallets:
                wallet = await env.api.wallet(str(wallet_id))
                assert (wallet["balance"], wallet["held"]) == (
                    self.model.balances[wallet_id],
                    self.model.held.get(wallet_id, 0),
                )
                listed = await env.api.http.get(
                    f"/v1/wallets/{wallet_id}/holds",
                    params={"limit": 200},
                    headers=env.api.headers(),
                )
                for hold in listed.json()["items"]:
                    mine = self.model.holds[hold["id"]]
                    assert (hold["status"], hold["amount"], hold["captured"]) == (
                        mine.status,
                        mine.amount,
                        mine.captured,
                    )
            settlement = self.model.settlement_id
            assert await balance_of(env.db, settlement) == self.model.balances[settlement]
            await assert_ledger_consistent(env.db, [str(w) for w in self.wallets])

    return LedgerMachine


async def test_api_agrees_with_the_model_after_every_step(
    api: Api, app: FastAPI, db: asyncpg.Connection[Any]
) -> None:
    env = Env(api=api, app=app, db=db, loop=asyncio.get_running_loop())
    machine = machine_for(env)
    budget = settings(
        max_examples=20,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    await asyncio.to_thread(run_state_machine_as_test, machine, settings=budget)

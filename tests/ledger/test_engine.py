"""The set-based engine decides a batch exactly as posting its postings one by one would."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from uuid import UUID, uuid4

from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import Api
from wallet.db.pool import Connection
from wallet.ledger import repository
from wallet.ledger.core import Posting, PostingContext, transfer_legs, withdraw_legs

WALLETS = 3
# (kind, source index, destination index, amount): transfers between the wallets, and
# withdrawals to EXTERNAL (destination ignored); amounts often larger than what is there.
steps = st.lists(
    st.tuples(
        st.sampled_from(["transfer", "withdraw"]),
        st.integers(0, WALLETS - 1),
        st.integers(0, WALLETS - 1),
        st.integers(1, 80),
    ),
    min_size=1,
    max_size=24,
)


def _postings(wallets: list[UUID], plan: list[tuple[str, int, int, int]]) -> list[Posting]:
    postings = []
    for kind, source, destination, amount in plan:
        if kind == "transfer" and source == destination:
            destination = (destination + 1) % WALLETS
        legs = (
            transfer_legs(wallets[source], wallets[destination], amount)
            if kind == "transfer"
            else withdraw_legs(wallets[source], amount)
        )
        postings.append(
            Posting(
                context=PostingContext(
                    caller="engine-test", idempotency_key=None, fingerprint="f", trace_id="t"
                ),
                journal_id=uuid4(),
                journal_type=kind.upper(),
                event_type=f"wallet.{kind}.completed",
                wallet_id=wallets[source],
                amount=amount,
                legs=legs,
            )
        )
    return postings


async def _balances(conn: Connection, wallets: list[str]) -> list[int]:
    rows = await conn.fetch(
        "SELECT id::text, balance FROM wallets WHERE id = ANY($1::uuid[])", wallets
    )
    by_id = {row["id"]: row["balance"] for row in rows}
    return [by_id[wallet] for wallet in wallets]


async def test_a_batch_matches_posting_one_by_one(api: Api, owner: str, app: FastAPI) -> None:
    """Refused and accepted postings on the same wallets, in one batch: the same outcomes and
    balances as applying them one at a time (a refusal changes nothing later ones see)."""
    loop = asyncio.get_running_loop()

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(plan=steps, funds=st.lists(st.integers(1, 100), min_size=WALLETS, max_size=WALLETS))
    def check(plan: list[tuple[str, int, int, int]], funds: list[int]) -> None:
        asyncio.run_coroutine_threadsafe(_compare(api, owner, app, plan, funds), loop).result()

    await asyncio.to_thread(check)


async def _compare(
    api: Api, owner: str, app: FastAPI, plan: list[tuple[str, int, int, int]], funds: list[int]
) -> None:
    tag = uuid4().hex[:8]
    batched = [await api.funded_wallet(f"{owner}-{tag}-b{n}", f) for n, f in enumerate(funds)]
    alone = [await api.funded_wallet(f"{owner}-{tag}-a{n}", f) for n, f in enumerate(funds)]
    async with app.state.pool.acquire() as conn:
        batch_results = await repository.post(conn, _postings([UUID(w) for w in batched], plan))
        single_results = [
            (await repository.post(conn, [posting]))[0]
            for posting in _postings([UUID(w) for w in alone], plan)
        ]
        assert [r.outcome for r in batch_results] == [r.outcome for r in single_results]
        assert await _balances(conn, batched) == await _balances(conn, alone)


async def test_unrendered_postings_answer_without_a_body_and_replays_with_theirs(
    api: Api, owner: str, app: FastAPI
) -> None:
    """render=False: a posting posted now answers with no body (its journal is rendered after
    commit); a refusal answers as ever, and so does a replay (its caller has no journal id)."""
    source = UUID(await api.funded_wallet(f"{owner}-s", 10))
    target = UUID(await api.funded_wallet(f"{owner}-t", 1))
    posted, refused, keyed = _postings([source, target, target], [("transfer", 0, 1, 4)] * 3)
    refused = replace(refused, amount=50, legs=transfer_legs(source, target, 50))
    keyed = replace(keyed, context=replace(keyed.context, idempotency_key=uuid4().hex))
    async with app.state.pool.acquire() as conn:
        first = await repository.post(conn, [posted, refused, keyed], render=False)
        assert [(r.outcome, r.body) for r in first] == [
            ("posted", None),
            ("insufficient_funds", None),
            ("posted", None),
        ]
        (replay,) = await repository.post(conn, [keyed], render=False)
        bodies = await repository.transaction_bodies(conn, [str(keyed.journal_id)])
    assert (replay.outcome, replay.body) == ("replayed", bodies[str(keyed.journal_id)])

"""Grouped postings: one transaction for many requests, and isolation when one fails."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from fastapi import FastAPI

from tests.support import Api
from wallet.ledger.batcher import PostingBatcher
from wallet.ledger.core import Posting, PostingContext, deposit_legs, transfer_legs


def _transfer(source: str, target: str, amount: int, journal_id: UUID | None = None) -> Posting:
    context = PostingContext(
        caller="batch-test", idempotency_key=uuid4().hex, fingerprint="f", trace_id="t"
    )
    return Posting(
        context=context,
        journal_id=journal_id or uuid4(),
        journal_type="TRANSFER",
        event_type="wallet.transfer.completed",
        wallet_id=UUID(source),
        amount=amount,
        legs=transfer_legs(UUID(source), UUID(target), amount),
    )


async def test_a_batch_posts_each_posting_with_its_own_outcome(
    api: Api, app: FastAPI, owner: str
) -> None:
    rich = await api.funded_wallet(owner, 100)
    poor = (await api.create_wallet(f"{owner}-poor"))["id"]
    batcher = PostingBatcher(app.state.pool, max_batch=10, max_in_flight=1)
    postings = [_transfer(rich, poor, 40), _transfer(rich, poor, 40), _transfer(rich, poor, 40)]
    results = await asyncio.gather(*(batcher.submit(p) for p in postings))
    assert [r.outcome for r in results] == ["posted", "posted", "insufficient_funds"]
    assert (await api.wallet(rich))["balance"] == 20
    assert (await api.wallet(poor))["balance"] == 80


async def test_one_failing_posting_does_not_fail_the_others(
    api: Api, app: FastAPI, owner: str, db: asyncpg.Connection[Any]
) -> None:
    source = await api.funded_wallet(owner, 100)
    target = (await api.create_wallet(f"{owner}-t"))["id"]
    taken_id = UUID(await db.fetchval("SELECT id::text FROM journals WHERE wallet_id = $1", source))
    # Occupy the single in-flight slot so the next three queue up and go out as one batch.
    batcher = PostingBatcher(app.state.pool, max_batch=10, max_in_flight=1)
    blocker = asyncio.ensure_future(batcher.submit(_transfer(source, target, 1)))
    duplicate = _transfer(source, target, 5, journal_id=taken_id)  # primary key clash
    rest = [_transfer(source, target, 2), duplicate, _transfer(source, target, 3)]
    outcomes = await asyncio.gather(*(batcher.submit(p) for p in rest), return_exceptions=True)
    assert (await blocker).outcome == "posted"
    assert isinstance(outcomes[1], asyncpg.UniqueViolationError)
    assert [getattr(o, "outcome", None) for o in (outcomes[0], outcomes[2])] == ["posted"] * 2
    assert (await api.wallet(source))["balance"] == 100 - 1 - 2 - 3
    assert (await api.wallet(target))["balance"] == 6


async def test_deposits_to_many_wallets_share_the_external_wallet_safely(
    api: Api, app: FastAPI, owner: str
) -> None:
    wallets = [(await api.create_wallet(f"{owner}-{i}", "NOK"))["id"] for i in range(10)]
    batcher = PostingBatcher(app.state.pool, max_batch=4, max_in_flight=3)

    def deposit(wallet_id: str) -> Posting:
        context = PostingContext(caller="b", idempotency_key=None, fingerprint="f", trace_id="t")
        return Posting(
            context=context,
            journal_id=uuid4(),
            journal_type="DEPOSIT",
            event_type="wallet.deposit.completed",
            wallet_id=UUID(wallet_id),
            amount=7,
            legs=deposit_legs(UUID(wallet_id), 7),
        )

    results = await asyncio.gather(*(batcher.submit(deposit(w)) for w in wallets * 5))
    assert {r.outcome for r in results} == {"posted"}
    balances = [(await api.wallet(w))["balance"] for w in wallets]
    assert balances == [35] * 10


@pytest.mark.parametrize("max_batch", [0, 1001])
def test_batch_size_is_bounded_by_configuration(max_batch: int) -> None:
    from pydantic import ValidationError

    from wallet.config import Settings

    with pytest.raises(ValidationError):
        Settings(posting_batch_max=max_batch)

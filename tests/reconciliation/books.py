"""Money moved through the real posting path (ledger_post), without HTTP."""

from __future__ import annotations

from uuid import UUID, uuid4

from uuid_utils.compat import uuid7

from wallet.db.pool import Pool
from wallet.ledger import core
from wallet.ledger.core import JournalType, Leg, Posting, PostingContext
from wallet.ledger.service import post_one


async def open_wallet(pool: Pool, *, owner: str, currency: str) -> UUID:
    wallet_id = uuid7()
    await pool.execute(
        "INSERT INTO wallets (id, owner_id, currency) VALUES ($1, $2, $3)",
        wallet_id,
        owner,
        currency,
    )
    return wallet_id


async def post(
    pool: Pool, journal_type: JournalType, wallet_id: UUID, legs: tuple[Leg, ...]
) -> None:
    posting = Posting(
        context=PostingContext(
            caller="tests", idempotency_key=str(uuid4()), fingerprint="f", trace_id="t"
        ),
        journal_id=uuid7(),
        journal_type=journal_type.value,
        event_type=core.EVENT_TYPES[journal_type],
        wallet_id=wallet_id,
        amount=abs(legs[0].amount),
        legs=legs,
    )
    async with pool.acquire() as conn:
        await post_one(conn, posting)


async def deposit(pool: Pool, wallet_id: UUID, amount: int) -> None:
    await post(pool, JournalType.DEPOSIT, wallet_id, core.deposit_legs(wallet_id, amount))


async def transfer(pool: Pool, source: UUID, destination: UUID, amount: int) -> None:
    await post(pool, JournalType.TRANSFER, source, core.transfer_legs(source, destination, amount))


async def funded_wallets(pool: Pool, *, count: int, amount: int, currency: str) -> list[UUID]:
    prefix = uuid4().hex[:8]
    wallets = []
    for index in range(count):
        wallet_id = await open_wallet(pool, owner=f"{prefix}-{index}", currency=currency)
        await deposit(pool, wallet_id, amount)
        wallets.append(wallet_id)
    return wallets

"""Payout use cases: start a run, move payouts along, show a run.

A payout's life, each step its own transaction, so a crash anywhere resumes safely:
1. PENDING: created with the run, its amount moved off the wallet (cash only) into PAYOUTS
   by a PAYOUT journal.
2. SENT: claimed by a worker (committed) before the rail is asked. The rail is called with
   no transaction open, with the payout's id as idempotency key.
3. PAID (PAYOUTS -> EXTERNAL) or FAILED (PAYOUTS -> wallet), only from SENT, under the
   payout's row lock. A rail answer that is neither leaves it SENT, asked again later.
The rail pays a payout id once whatever the number of asks, and every journal is keyed by the
payout's id in the engine, so neither the money nor the ledger can move twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from uuid_utils.compat import uuid7

from wallet.config import Settings
from wallet.db.pool import Connection, Pool, transaction
from wallet.errors import PayoutRunNotFound, RequestValidationFailed
from wallet.ledger import repository as ledger_repository
from wallet.ledger.core import EVENT_TYPES, JournalType, Leg, Posting, PostingContext, SystemKind
from wallet.payouts import repository
from wallet.payouts.rail import PayoutInstruction, PayoutRail
from wallet.payouts.schemas import PayoutCounts, PayoutRunOut, PayoutRunRequest

CALLER = "system:payouts"
SCHEDULER = "system:payout-schedule"


def _posting(
    *, step: JournalType, payout_id: UUID, wallet_id: UUID, amount: int, trace_id: str
) -> Posting:
    legs = {
        JournalType.PAYOUT: (
            Leg(wallet_id=wallet_id, amount=-amount),
            Leg(system_kind=SystemKind.PAYOUTS, amount=amount),
        ),
        # The wallet's zero leg puts the step on the driver's event stream.
        JournalType.PAYOUT_PAID: (
            Leg(wallet_id=wallet_id, amount=0),
            Leg(system_kind=SystemKind.PAYOUTS, amount=-amount),
            Leg(system_kind=SystemKind.EXTERNAL, amount=amount),
        ),
        JournalType.PAYOUT_FAILED: (
            Leg(wallet_id=wallet_id, amount=amount),
            Leg(system_kind=SystemKind.PAYOUTS, amount=-amount),
        ),
    }[step]
    return Posting(
        context=PostingContext(
            caller=CALLER,
            idempotency_key=f"{step.value.lower()}:{payout_id}",
            fingerprint=f"{step.value}:{payout_id}:{amount}",
            trace_id=trace_id,
        ),
        journal_id=uuid7(),
        journal_type=step.value,
        event_type=EVENT_TYPES[step],
        wallet_id=wallet_id,
        amount=amount,
        legs=legs,
        reference_id=str(payout_id),
        category="PAYOUT",
        metadata={"payout_id": str(payout_id)},
    )


async def start_run(
    conn: Connection, *, request: PayoutRunRequest, actor: str, trace_id: str
) -> PayoutRunOut:
    """Create the run and its payouts, each one's money moved into PAYOUTS (one batch)."""
    if request.owner_prefix is None and request.wallet_ids is None:
        raise RequestValidationFailed("give owner_prefix, wallet_ids or both")
    run_id = uuid7()
    await repository.insert_run(
        conn,
        run_id=run_id,
        currency=request.currency,
        threshold=request.threshold,
        owner_prefix=request.owner_prefix,
        wallet_ids=request.wallet_ids,
        created_by=actor,
    )
    wallets = await repository.eligible_wallets(
        conn,
        currency=request.currency,
        threshold=request.threshold,
        owner_prefix=request.owner_prefix,
        wallet_ids=request.wallet_ids,
    )
    payout_ids = [uuid7() for _ in wallets]
    postings = [
        _posting(
            step=JournalType.PAYOUT,
            payout_id=payout_id,
            wallet_id=wallet["id"],
            amount=wallet["cash"],
            trace_id=trace_id,
        )
        for payout_id, wallet in zip(payout_ids, wallets, strict=True)
    ]
    results = await ledger_repository.post(conn, postings) if postings else []
    # A wallet that spent its money since it was selected is refused by the engine: no payout.
    await repository.insert_payouts(
        conn,
        [
            (payout_id, run_id, wallet["id"], wallet["owner_id"], request.currency, wallet["cash"])
            for payout_id, wallet, result in zip(payout_ids, wallets, results, strict=True)
            if result.outcome == "posted"
        ],
    )
    return await get_run(conn, run_id=run_id)


async def get_run(conn: Connection, *, run_id: UUID) -> PayoutRunOut:
    row = await repository.find_run(conn, run_id=run_id)
    if row is None:
        raise PayoutRunNotFound()
    counts = PayoutCounts.model_validate(row["payouts"])
    open_count = counts.PENDING + counts.SENT
    return PayoutRunOut(
        id=row["id"],
        currency=row["currency"],
        threshold=row["threshold"],
        owner_prefix=row["owner_prefix"],
        created_at=row["created_at"],
        status="OPEN" if open_count else "DONE",
        payouts=counts,
        totals=PayoutCounts.model_validate(row["totals"]),
    )


@dataclass(frozen=True, slots=True)
class Progress:
    asked: int
    settled: int


async def process_due(
    pool: Pool,
    rail: PayoutRail,
    *,
    batch_size: int = 100,
    retry_after_seconds: float = 30.0,
    on_progress: Callable[[Progress], None] | None = None,
) -> int:
    """Ask the rail about every open payout due; return how many settled (PAID or FAILED)."""
    settled_total = 0
    while True:
        async with transaction(pool) as conn:
            claimed = await repository.claim(
                conn, limit=batch_size, retry_after_seconds=retry_after_seconds
            )
        settled = 0
        for payout in claimed:
            answer = await rail.send(
                PayoutInstruction(
                    payout_id=payout["id"],
                    wallet_id=payout["wallet_id"],
                    owner_id=payout["owner_id"],
                    amount=payout["amount"],
                    currency=payout["currency"],
                )
            )
            if answer.status == "UNKNOWN":
                continue  # stays SENT; asked again after retry_after_seconds
            if await _settle(pool, payout["id"], answer.status, answer.reason):
                settled += 1
        settled_total += settled
        if on_progress is not None:
            on_progress(Progress(asked=len(claimed), settled=settled))
        if len(claimed) < batch_size:
            return settled_total


async def _settle(pool: Pool, payout_id: UUID, status: str, reason: str | None) -> bool:
    async with transaction(pool) as conn:
        payout = await repository.lock_payout(conn, payout_id=payout_id)
        if payout is None or payout["status"] != "SENT":
            return False  # another worker settled it
        step = JournalType.PAYOUT_PAID if status == "PAID" else JournalType.PAYOUT_FAILED
        (result,) = await ledger_repository.post(
            conn,
            [
                _posting(
                    step=step,
                    payout_id=payout_id,
                    wallet_id=payout["wallet_id"],
                    amount=payout["amount"],
                    trace_id=f"payout-{payout_id.hex}",
                )
            ],
        )
        if result.outcome not in ("posted", "replayed"):
            return False  # e.g. the wallet was closed: stays SENT for an operator
        await repository.settle(conn, payout_id=payout_id, status=status, reason=reason)
        return True


async def start_scheduled_run(pool: Pool, *, settings: Settings) -> int | None:
    """The worker's periodic task: start the configured run when the last scheduled one of
    that currency is older than its interval. Any number of workers may call it: one run per
    interval (an advisory lock serialises the check and the start). Returns how many payouts
    it created, or None when none was due."""
    currency = settings.payout_schedule_currency
    if currency is None:
        return None
    async with transaction(pool) as conn:
        await repository.lock_schedule(conn)
        last = await repository.last_run_at(conn, currency=currency, created_by=SCHEDULER)
        due = await conn.fetchval(
            "SELECT $1::timestamptz IS NULL OR $1 <= now() - make_interval(secs => $2)",
            last,
            settings.payout_schedule_interval_hours * 3600,
        )
        if not due:
            return None
        run = await start_run(
            conn,
            request=PayoutRunRequest(
                currency=currency,
                threshold=settings.payout_schedule_threshold,
                owner_prefix=settings.payout_schedule_owner_prefix,
            ),
            actor=SCHEDULER,
            trace_id=uuid7().hex,
        )
    return run.payouts.PENDING

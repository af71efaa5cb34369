"""``wallet payouts run``: start a payout run and send its payouts, with a progress bar."""

from __future__ import annotations

import asyncio
import getpass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from uuid_utils.compat import uuid7

from wallet.config import Settings
from wallet.db.pool import create_pool, transaction
from wallet.payouts import service
from wallet.payouts.rail import HttpRail
from wallet.payouts.schemas import PayoutRunOut, PayoutRunRequest


def run_payouts_now(
    settings: Settings, *, database_url: str, request: PayoutRunRequest
) -> PayoutRunOut:
    if not settings.payout_rail_url:
        raise SystemExit("WALLET_PAYOUT_RAIL_URL is not set: there is no rail to pay through")
    rail = HttpRail(settings.payout_rail_url)

    async def run() -> PayoutRunOut:
        pool = await create_pool(database_url, min_size=1, max_size=2)
        try:
            async with transaction(pool) as conn:
                started = await service.start_run(
                    conn,
                    request=request,
                    actor=f"cli:{getpass.getuser()}",
                    trace_id=uuid7().hex,
                )
            total = started.payouts.PENDING
            with Progress(
                TextColumn("payouts"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            ) as progress:
                task = progress.add_task("payouts", total=total)
                await service.process_due(
                    pool,
                    rail,
                    retry_after_seconds=settings.payout_retry_after_seconds,
                    on_progress=lambda p: progress.advance(task, p.settled),
                )
            async with pool.acquire() as conn:
                return await service.get_run(conn, run_id=started.id)
        finally:
            await pool.close()

    outcome = asyncio.run(run())
    Console().print(
        f"run {outcome.id} {outcome.status}: paid {outcome.payouts.PAID} "
        f"({outcome.totals.PAID}), failed {outcome.payouts.FAILED}, "
        f"still open {outcome.payouts.PENDING + outcome.payouts.SENT}"
    )
    return outcome

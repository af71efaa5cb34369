"""Reconciliation runs over a database no test tampers with: clean books, a snapshot that
holds still while money moves, one run at a time, and the scheduled run."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.reconciliation import books
from wallet.config import Settings
from wallet.db.pool import Pool
from wallet.errors import InsufficientFunds, ReconciliationInProgress
from wallet.reconciliation import repository
from wallet.reconciliation.core import Phase
from wallet.reconciliation.schemas import RunOut
from wallet.reconciliation.tasks import RunLimits, run_reconciliation, run_scheduled_reconciliation

LIMITS = RunLimits(batch_size=3, max_findings=100, outbox_window_hours=24)


async def _run(pool: Pool, limits: RunLimits = LIMITS) -> RunOut:
    return await run_reconciliation(
        pool, limits=limits, trigger="api", requested_by="admin-a", trace_id="t"
    )


async def test_a_clean_ledger_reconciles_with_zero_findings(quiet_pool: Pool) -> None:
    wallets = await books.funded_wallets(quiet_pool, count=5, amount=1_000, currency="EUR")
    await books.transfer(quiet_pool, wallets[0], wallets[1], 250)
    await books.transfer(quiet_pool, wallets[1], wallets[2], 700)

    run = await run_reconciliation(
        quiet_pool, limits=LIMITS, trigger="api", requested_by="admin-a", trace_id="t"
    )

    assert run.status == "COMPLETED"
    assert run.findings == []
    assert run.findings_count == 0
    counts = await quiet_pool.fetchrow(
        "SELECT (SELECT count(*) FROM wallets) AS wallets, (SELECT count(*) FROM entries) AS "
        "entries, (SELECT count(*) FROM journals) AS journals"
    )
    assert counts is not None
    assert (run.wallets_checked, run.entries_checked, run.journals_checked) == (
        counts["wallets"],
        counts["entries"],
        counts["journals"],
    )
    assert run.snapshot_at is not None and run.finished_at is not None


async def test_the_run_reads_one_snapshot_while_money_moves(quiet_pool: Pool) -> None:
    wallets = await books.funded_wallets(quiet_pool, count=8, amount=500, currency="EUR")
    entries_before = await quiet_pool.fetchval("SELECT count(*) FROM entries")
    moved = 0

    async def move_money_mid_run(phase: Phase, done: int, total: int) -> None:
        nonlocal moved
        if phase is Phase.WALLETS and moved < 3:  # between batches, from other connections
            await books.transfer(quiet_pool, wallets[moved], wallets[-1], 10)
            await books.deposit(quiet_pool, wallets[moved], 5)
            moved += 1

    run = await run_reconciliation(
        quiet_pool,
        limits=LIMITS,
        trigger="api",
        requested_by="admin-a",
        trace_id="t",
        on_progress=move_money_mid_run,
    )

    assert moved == 3
    assert run.findings == []
    # Entries written after the snapshot was taken are not part of the run.
    assert run.entries_checked == entries_before
    assert await quiet_pool.fetchval("SELECT count(*) FROM entries") == entries_before + 12


async def test_reconciliation_during_concurrent_transfers_finds_nothing(quiet_pool: Pool) -> None:
    wallets = await books.funded_wallets(quiet_pool, count=12, amount=300, currency="GBP")
    rng = random.Random(11)
    stop = asyncio.Event()
    posted = 0

    async def client() -> None:
        nonlocal posted
        while not stop.is_set():
            source, destination = rng.sample(wallets, 2)
            try:
                await books.transfer(quiet_pool, source, destination, rng.randint(1, 120))
                posted += 1
            except InsufficientFunds:
                pass

    clients = [asyncio.create_task(client()) for _ in range(6)]
    try:
        runs: list[Any] = []
        # At least three runs, and as many more as it takes for transfers to overlap them
        # (how many fit in a run depends on the machine's load).
        while len(runs) < 3 or (posted <= 20 and len(runs) < 30):
            runs.append(await _run(quiet_pool, RunLimits(2, 100, 24)))
    finally:
        stop.set()
        await asyncio.gather(*clients)

    assert posted > 20
    assert [run.findings for run in runs] == [[] for _ in runs]
    total = await quiet_pool.fetchval(
        "SELECT sum(balance) FROM wallets WHERE id = ANY($1::uuid[])", wallets
    )
    assert total == 12 * 300


async def test_only_one_run_at_a_time(quiet_pool: Pool) -> None:
    async with quiet_pool.acquire() as other_process:
        assert await repository.try_lock_runs(other_process)
        try:
            with pytest.raises(ReconciliationInProgress):
                await _run(quiet_pool)
        finally:
            await repository.unlock_runs(other_process)
    assert (await _run(quiet_pool)).status == "COMPLETED"


async def test_scheduled_run_runs_only_when_due(quiet_pool: Pool, settings: Settings) -> None:
    schedule = settings.model_copy(update={"reconcile_interval_hours": 24.0})
    await _run(quiet_pool)  # a run just completed: nothing is due
    assert await run_scheduled_reconciliation(quiet_pool, settings=schedule) is None

    later = datetime.now(UTC) + timedelta(hours=25)
    assert await run_scheduled_reconciliation(quiet_pool, settings=schedule, now=later) == 0
    latest = await quiet_pool.fetchrow(
        "SELECT trigger, status, requested_by FROM reconciliation_runs ORDER BY id DESC LIMIT 1"
    )
    assert latest is not None
    assert dict(latest) == {
        "trigger": "schedule",
        "status": "COMPLETED",
        "requested_by": "system:scheduler",
    }

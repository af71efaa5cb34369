"""Memory stays bounded: a run holds one batch, never the ledger, in Python."""

from __future__ import annotations

import tracemalloc

from tests.reconciliation.generated_ledger import generate_ledger
from wallet.db.pool import Pool
from wallet.reconciliation.tasks import RunLimits, run_reconciliation

ENTRIES = 20_000


async def _peak_bytes_of_run(pool: Pool, *, batch_size: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        run = await run_reconciliation(
            pool,
            limits=RunLimits(batch_size=batch_size, max_findings=100, outbox_window_hours=24),
            trigger="api",
            requested_by="ops",
            trace_id="t",
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert run.findings == []
    return peak, run.entries_checked


async def _peak_bytes_of_loading(pool: Pool) -> int:
    """What holding the ledger in Python would cost: the yardstick the run must stay under."""
    tracemalloc.start()
    try:
        rows = await pool.fetch("SELECT wallet_id, journal_id, amount FROM entries")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rows) == ENTRIES
    return peak


async def test_memory_stays_bounded_on_a_generated_ledger(scratch_pool: Pool) -> None:
    async with scratch_pool.acquire() as conn:
        await generate_ledger(
            conn, wallets=400, journals=ENTRIES // 2, currency="EUR", owner_prefix="gen-"
        )

    peak, entries_checked = await _peak_bytes_of_run(scratch_pool, batch_size=100)
    loading = await _peak_bytes_of_loading(scratch_pool)
    print(f"run peak {peak} B, loading the entries {loading} B")

    assert entries_checked == ENTRIES
    # A run over 20k entries in batches of 100 holds a few hundred kB, a small
    # fraction of what loading the entries alone would take.
    assert peak < 1024 * 1024
    assert peak < loading / 4

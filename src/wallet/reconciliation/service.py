"""Reconciliation use cases: check a snapshot of the books; read stored runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from wallet.audit.repository import stream_tampering
from wallet.audit.schemas import Finding as TamperFinding
from wallet.db.pool import Connection
from wallet.errors import InvalidCursor, ReconciliationNotFound
from wallet.paging import decode_cursor, encode_cursor
from wallet.reconciliation import repository
from wallet.reconciliation.core import (
    BatchResult,
    Finding,
    FindingKind,
    Phase,
    ProgressCallback,
    SnapshotReport,
)
from wallet.reconciliation.schemas import FindingOut, RunOut, RunPage, RunSummary

BatchCheck = Callable[[UUID | None], Awaitable[BatchResult]]


async def check_snapshot(
    conn: Connection,
    *,
    batch_size: int,
    max_findings: int,
    outbox_window_hours: float,
    on_progress: ProgressCallback | None = None,
) -> SnapshotReport:
    """Run every check on ``conn``, which must be inside a REPEATABLE READ transaction, so
    that every batch sees the same books however long the run takes and money keeps moving.
    """
    report = SnapshotReport(max_findings=max_findings)

    async def wallet_batch(after: UUID | None) -> BatchResult:
        return await repository.check_wallet_batch(conn, after=after, limit=batch_size)

    async def journal_batch(after: UUID | None) -> BatchResult:
        return await repository.check_journal_batch(conn, after=after, limit=batch_size)

    wallets_total = await repository.count_rows(conn, table="wallets")
    report.wallets_checked, report.entries_checked = await _in_batches(
        wallet_batch, report, phase=Phase.WALLETS, total=wallets_total, on_progress=on_progress
    )
    journals_total = await repository.count_rows(conn, table="journals")
    report.journals_checked, _ = await _in_batches(
        journal_batch, report, phase=Phase.JOURNALS, total=journals_total, on_progress=on_progress
    )

    report.add(await repository.unbalanced_currencies(conn))
    missing_events, first_missing = await repository.journals_without_event(
        conn, window_hours=outbox_window_hours, limit=max_findings
    )
    report.add(first_missing)
    report.findings_count += missing_events - len(first_missing)
    async for tampered in stream_tampering(conn):
        if (tampered.table, tampered.problem) not in _CHECKED_ABOVE:
            report.add([_chain_finding(tampered)])
    if on_progress is not None:
        await on_progress(Phase.GLOBAL, 1, 1)
    return report


async def _in_batches(
    check: BatchCheck,
    report: SnapshotReport,
    *,
    phase: Phase,
    total: int,
    on_progress: ProgressCallback | None,
) -> tuple[int, int]:
    """Walk a table by id, one keyset batch at a time; returns (rows, entries) checked."""
    rows = entries = 0
    after: UUID | None = None
    while True:
        batch = await check(after)
        if batch.rows == 0:
            return rows, entries
        rows += batch.rows
        entries += batch.entries
        report.add(batch.findings)
        after = batch.last_id
        if on_progress is not None:
            await on_progress(phase, rows, max(total, rows))


async def get_run(conn: Connection, *, run_id: UUID) -> RunOut:
    run = await repository.find_run(conn, run_id=run_id)
    if run is None:
        raise ReconciliationNotFound()
    findings = await repository.run_findings(conn, run_id=run_id)
    return RunOut.model_validate(
        {**run, "findings": [FindingOut.model_validate(found) for found in findings]}
    )


async def list_runs(conn: Connection, *, cursor: str | None, limit: int) -> RunPage:
    before = _run_cursor(cursor)
    rows = await repository.list_runs(conn, before=before, limit=limit + 1)
    items = [RunSummary.model_validate(row) for row in rows[:limit]]
    has_more = len(rows) > limit and items
    return RunPage(items=items, next_cursor=encode_cursor("rr", items[-1].id) if has_more else None)


def _run_cursor(cursor: str | None) -> UUID | None:
    parts = decode_cursor(cursor, "rr", 1)
    if parts is None:
        return None
    try:
        return UUID(parts[0])
    except ValueError as exc:
        raise InvalidCursor() from exc


# What the hash-chain verification reports that the checks above already report in their own
# terms (a stored balance off its entries, an unbalanced or empty journal).
_CHECKED_ABOVE = {
    ("wallets", "head_mismatch"),
    ("journals", "unbalanced"),
    ("journals", "entries_removed"),
}


def _chain_finding(tampered: TamperFinding) -> Finding:
    """A changed, inserted or removed audit or ledger row, as a reconciliation finding."""
    return Finding(kind=FindingKind.CHAIN_BROKEN, expected=0, actual=1, detail=str(tampered))

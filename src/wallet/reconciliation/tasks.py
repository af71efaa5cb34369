"""Running reconciliations: on request (API, CLI) and on schedule (the worker).

A run owns its transactions, like any worker task: it records itself as RUNNING, checks one
REPEATABLE READ, read-only snapshot of the books, then stores the outcome. One run at a
time across all processes (an advisory lock); a second caller is told so, not queued.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from uuid_utils.compat import uuid7

from wallet.config import Settings
from wallet.db.pool import Connection, Pool
from wallet.errors import ReconciliationInProgress
from wallet.reconciliation import repository, service
from wallet.reconciliation.core import ProgressCallback, SnapshotReport
from wallet.reconciliation.metrics import (
    RECONCILIATION_DURATION,
    RECONCILIATION_FINDINGS,
    RECONCILIATION_LAST_SUCCESS,
    RECONCILIATION_RUNS,
)
from wallet.reconciliation.schemas import RunOut

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunLimits:
    batch_size: int
    max_findings: int
    outbox_window_hours: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RunLimits:
        return cls(
            batch_size=settings.reconcile_batch_size,
            max_findings=settings.reconcile_max_findings,
            outbox_window_hours=settings.reconcile_outbox_window_hours,
        )


async def run_reconciliation(
    pool: Pool,
    *,
    limits: RunLimits,
    trigger: str,
    requested_by: str,
    trace_id: str,
    on_progress: ProgressCallback | None = None,
) -> RunOut:
    """Run a reconciliation now and return the stored run with its findings.

    Raises ReconciliationInProgress when another run holds the lock.
    """
    async with pool.acquire() as conn:
        if not await repository.try_lock_runs(conn):
            raise ReconciliationInProgress()
        try:
            run_id = await _start(
                conn, trigger=trigger, requested_by=requested_by, trace_id=trace_id
            )
            await _check_and_store(
                conn, run_id=run_id, trigger=trigger, limits=limits, on_progress=on_progress
            )
            return await service.get_run(conn, run_id=run_id)
        finally:
            await repository.unlock_runs(conn)


async def _start(conn: Connection, *, trigger: str, requested_by: str, trace_id: str) -> UUID:
    run_id = uuid7()
    async with conn.transaction():
        abandoned = await repository.abandon_stale_runs(conn)
        if abandoned:
            logger.warning("reconciliation runs abandoned", extra={"runs": abandoned})
        await repository.insert_run(
            conn, run_id=run_id, trigger=trigger, requested_by=requested_by, trace_id=trace_id
        )
    return run_id


async def _check_and_store(
    conn: Connection,
    *,
    run_id: UUID,
    trigger: str,
    limits: RunLimits,
    on_progress: ProgressCallback | None,
) -> None:
    started = time.perf_counter()
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot_at = await repository.snapshot_started_at(conn)
            report = await service.check_snapshot(
                conn,
                batch_size=limits.batch_size,
                max_findings=limits.max_findings,
                outbox_window_hours=limits.outbox_window_hours,
                on_progress=on_progress,
            )
    except Exception as exc:
        # Recorded, then re-raised: the caller (route, CLI, worker loop) reports it.
        async with conn.transaction():
            await repository.fail_run(conn, run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        RECONCILIATION_RUNS.labels(trigger, "FAILED").inc()
        raise
    async with conn.transaction():
        await repository.complete_run(
            conn,
            run_id=run_id,
            snapshot_at=snapshot_at,
            report=report,
            finding_ids=[uuid7() for _ in report.findings],
        )
    _export(report, trigger=trigger, seconds=time.perf_counter() - started)


def _export(report: SnapshotReport, *, trigger: str, seconds: float) -> None:
    RECONCILIATION_RUNS.labels(trigger, "COMPLETED").inc()
    RECONCILIATION_DURATION.observe(seconds)
    RECONCILIATION_LAST_SUCCESS.set(time.time())
    for kind, count in report.counts_by_kind().items():
        RECONCILIATION_FINDINGS.labels(kind.value).set(count)
    logger.info(
        "reconciliation completed",
        extra={
            "seconds": round(seconds, 3),
            "wallets": report.wallets_checked,
            "entries": report.entries_checked,
            "journals": report.journals_checked,
            "findings": report.findings_count,
        },
    )


async def run_scheduled_reconciliation(
    pool: Pool, *, settings: Settings, now: datetime | None = None
) -> int | None:
    """The worker's periodic task: run when the last completed run is older than
    ``settings.reconcile_interval_hours``. Call it every few minutes from any number of
    workers; at most one runs at a time. Returns the run's findings count, or None when no
    run was due (or another process is running one).
    """
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn:
        last = await repository.last_completed_start(conn)
    if last is not None and now - last < timedelta(hours=settings.reconcile_interval_hours):
        return None
    try:
        run = await run_reconciliation(
            pool,
            limits=RunLimits.from_settings(settings),
            trigger="schedule",
            requested_by="system:scheduler",
            trace_id=uuid7().hex,
        )
    except ReconciliationInProgress:
        return None
    if run.findings_count:
        logger.error(
            "reconciliation found discrepancies",
            extra={"run_id": str(run.id), "findings": run.findings_count},
        )
    return run.findings_count

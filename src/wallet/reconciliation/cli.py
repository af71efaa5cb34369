"""``wallet reconcile``: a run from the command line, with a progress bar and a summary."""

from __future__ import annotations

import asyncio
import getpass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from uuid_utils.compat import uuid7

from wallet.config import Settings
from wallet.db.pool import create_pool
from wallet.reconciliation.core import Phase
from wallet.reconciliation.schemas import RunOut
from wallet.reconciliation.tasks import RunLimits, run_reconciliation

SHOWN_FINDINGS = 50


def reconcile_now(settings: Settings, *, database_url: str) -> int:
    """Run once, show progress and the outcome; returns the number of findings."""
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks = {phase: progress.add_task(phase.value, total=None) for phase in Phase}

        async def on_progress(phase: Phase, done: int, total: int) -> None:
            progress.update(tasks[phase], completed=done, total=total)

        async def run() -> RunOut:
            pool = await create_pool(database_url, min_size=1, max_size=1)
            try:
                return await run_reconciliation(
                    pool,
                    limits=RunLimits.from_settings(settings),
                    trigger="cli",
                    requested_by=f"cli:{getpass.getuser()}",
                    trace_id=uuid7().hex,
                    on_progress=on_progress,
                )
            finally:
                await pool.close()

        outcome = asyncio.run(run())
    _print_outcome(Console(), outcome)
    return outcome.findings_count


def _print_outcome(console: Console, run: RunOut) -> None:
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    console.print(
        f"run {run.id} {run.status} in {seconds:.1f}s: {run.wallets_checked} wallets, "
        f"{run.entries_checked} entries, {run.journals_checked} journals; "
        f"{run.findings_count} finding(s)"
    )
    if not run.findings:
        return
    table = Table("kind", "wallet", "journal", "currency", "expected", "actual")
    for finding in run.findings[:SHOWN_FINDINGS]:
        table.add_row(
            finding.kind,
            str(finding.wallet_id or ""),
            str(finding.journal_id or ""),
            finding.currency or "",
            str(finding.expected),
            str(finding.actual),
        )
    console.print(table)
    if run.findings_count > SHOWN_FINDINGS:
        console.print(f"... see GET /v1/admin/reconciliations/{run.id} for the rest")

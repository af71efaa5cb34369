"""SQL for reconciliation: the checks (server-side aggregation in keyset batches) and runs.

The checks return only summaries and findings, never the rows they read, so the Python side
holds one batch's findings at a time whatever the size of the ledger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from wallet.db.pool import Connection
from wallet.reconciliation.core import BatchResult, Finding, SnapshotReport

# Only one run at a time, across every process: a session-level advisory lock.
_RUN_LOCK_KEY = 0x7265636F6E63696C  # "reconcil"

_WALLET_BATCH = """
WITH batch AS (
    SELECT id, kind, currency, balance, held, credit_limit, promotional FROM wallets
    WHERE $1::uuid IS NULL OR id > $1
    ORDER BY id LIMIT $2
), checked AS (
    SELECT b.*, ledger.total, ledger.held_total, ledger.entry_count, reserve.reserved,
           grants.live_remaining
    FROM batch b
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(g.remaining), 0) AS live_remaining
        FROM credit_grants g WHERE g.wallet_id = b.id AND g.status = 'ACTIVE') grants
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(e.amount), 0) AS total,
               coalesce(sum(e.held_after - e.held_before), 0) AS held_total,
               count(*) AS entry_count
        FROM entries e WHERE e.wallet_id = b.id) ledger
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(h.amount - h.captured), 0) AS reserved
        FROM holds h WHERE h.wallet_id = b.id AND h.status = 'HELD') reserve
)
SELECT (SELECT id FROM batch ORDER BY id DESC LIMIT 1) AS last_id,
       (SELECT count(*) FROM checked) AS rows,
       (SELECT coalesce(sum(entry_count), 0) FROM checked) AS entries,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'kind', kind, 'wallet_id', wallet_id, 'currency', currency,
                   'expected', expected::text, 'actual', actual::text)), '[]')
        FROM (
            SELECT 'balance_mismatch' AS kind, id AS wallet_id, currency,
                   total AS expected, balance::numeric AS actual
            FROM checked WHERE balance <> total
            UNION ALL
            SELECT 'held_mismatch', id, currency, held_total, held FROM checked
            WHERE held <> held_total
            UNION ALL
            SELECT 'negative_available', id, currency, -credit_limit, balance - held::numeric
            FROM checked WHERE kind = 'USER' AND balance - held::numeric < -credit_limit
            UNION ALL
            SELECT 'hold_reservation_mismatch', id, currency, reserved, held
            FROM checked WHERE held <> reserved
            UNION ALL
            SELECT 'promotional_mismatch', id, currency, live_remaining, promotional
            FROM checked WHERE promotional <> live_remaining
            UNION ALL
            -- promotional credit is part of balance (with credit used, balance may be below it
            -- by at most the credit limit)
            SELECT 'promotional_exceeds_balance', id, currency, balance + credit_limit::numeric,
                   promotional
            FROM checked WHERE promotional > 0 AND promotional > balance + credit_limit::numeric
        ) found) AS findings
"""

_JOURNAL_BATCH = """
WITH batch AS (
    SELECT id, currency, type FROM journals
    WHERE $1::uuid IS NULL OR id > $1
    ORDER BY id LIMIT $2
), checked AS (
    -- A currency exchange (FX_TRANSFER) has entries in two currencies and balances in each:
    -- its total is the sum of each currency's imbalance, and no currency is foreign to it.
    SELECT b.id, b.currency, t.entry_count,
           CASE WHEN b.type = 'FX_TRANSFER' THEN per_currency.off ELSE t.total END AS total,
           CASE WHEN b.type = 'FX_TRANSFER' THEN 0 ELSE t.foreign_entries END AS foreign_entries
    FROM batch b
    CROSS JOIN LATERAL (
        SELECT count(*) AS entry_count, coalesce(sum(e.amount), 0) AS total,
               count(*) FILTER (WHERE e.currency <> b.currency) AS foreign_entries
        FROM entries e WHERE e.journal_id = b.id) t
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(abs(c.total)), 0) AS off FROM (
            SELECT sum(e.amount) AS total FROM entries e
            WHERE e.journal_id = b.id AND b.type = 'FX_TRANSFER' GROUP BY e.currency) c
        ) per_currency
)
SELECT (SELECT id FROM batch ORDER BY id DESC LIMIT 1) AS last_id,
       (SELECT count(*) FROM checked) AS rows,
       (SELECT coalesce(sum(entry_count), 0) FROM checked) AS entries,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'kind', kind, 'journal_id', id, 'currency', currency,
                   'expected', expected::text, 'actual', actual::text)), '[]')
        FROM (
            SELECT 'journal_without_entries' AS kind, id, currency,
                   1 AS expected, entry_count::numeric AS actual
            FROM checked WHERE entry_count = 0
            UNION ALL
            SELECT 'journal_unbalanced', id, currency, 0, total FROM checked
            WHERE total <> 0 AND foreign_entries = 0
            UNION ALL
            SELECT 'journal_currency_mismatch', id, currency, 0, foreign_entries FROM checked
            WHERE foreign_entries > 0
        ) found) AS findings
"""


async def try_lock_runs(conn: Connection) -> bool:
    locked: bool = await conn.fetchval("SELECT pg_try_advisory_lock($1)", _RUN_LOCK_KEY)
    return locked


async def unlock_runs(conn: Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", _RUN_LOCK_KEY)


async def snapshot_started_at(conn: Connection) -> datetime:
    """Inside the snapshot transaction: the moment the books are seen as of."""
    started: datetime = await conn.fetchval("SELECT now()")
    return started


async def count_rows(conn: Connection, *, table: str) -> int:
    """Rows in ``wallets`` or ``journals``: the totals a progress bar counts towards."""
    if table not in ("wallets", "journals"):
        raise ValueError(table)
    count: int = await conn.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names  # nosec B608
    return count


def _batch_result(row: Any) -> BatchResult:
    return BatchResult(
        last_id=row["last_id"],
        rows=row["rows"],
        entries=int(row["entries"]),
        findings=[Finding.from_row(found) for found in row["findings"]],
    )


async def check_wallet_batch(conn: Connection, *, after: UUID | None, limit: int) -> BatchResult:
    """Balance, held, available and hold reservations of the next ``limit`` wallets by id."""
    return _batch_result(await conn.fetchrow(_WALLET_BATCH, after, limit))


async def check_journal_batch(conn: Connection, *, after: UUID | None, limit: int) -> BatchResult:
    """Every journal of the next ``limit`` by id has entries that sum to zero in its currency."""
    return _batch_result(await conn.fetchrow(_JOURNAL_BATCH, after, limit))


async def unbalanced_currencies(conn: Connection) -> list[Finding]:
    rows = await conn.fetch(
        """
        SELECT 'currency_unbalanced' AS kind, currency, 0 AS expected, sum(balance) AS actual
        FROM wallets GROUP BY currency HAVING sum(balance) <> 0 ORDER BY currency
        """
    )
    return [Finding.from_row(dict(row)) for row in rows]


async def journals_without_event(
    conn: Connection, *, window_hours: float, limit: int
) -> tuple[int, list[Finding]]:
    """Recent journals with no outbox row (older events may have been pruned after delivery).

    Returns how many there are and the first ``limit`` of them.
    """
    rows = await conn.fetch(
        """
        SELECT 'journal_without_event' AS kind, j.id AS journal_id, j.wallet_id, j.currency,
               1 AS expected, 0 AS actual, count(*) OVER () AS total
        FROM journals j
        WHERE j.created_at >= now() - make_interval(secs => $1 * 3600)
          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.journal_id = j.id)
        ORDER BY j.id LIMIT $2
        """,
        window_hours,
        limit,
    )
    total = rows[0]["total"] if rows else 0
    return total, [Finding.from_row(dict(row)) for row in rows]


# --- runs ---------------------------------------------------------------------------------

_RUN_COLUMNS = """id, trigger, requested_by, status, started_at, snapshot_at, finished_at,
                  wallets_checked, entries_checked, journals_checked, findings_count, error,
                  trace_id"""


async def abandon_stale_runs(conn: Connection) -> int:
    """Runs left RUNNING by a process that died: called while holding the run lock."""
    result = await conn.execute(
        """UPDATE reconciliation_runs SET status = 'FAILED', finished_at = now(),
                  error = 'abandoned: the process running it stopped'
           WHERE status = 'RUNNING'"""
    )
    return int(result.split()[-1])


async def insert_run(
    conn: Connection, *, run_id: UUID, trigger: str, requested_by: str, trace_id: str
) -> None:
    await conn.execute(
        """INSERT INTO reconciliation_runs (id, trigger, requested_by, trace_id)
           VALUES ($1, $2, $3, $4)""",
        run_id,
        trigger,
        requested_by,
        trace_id,
    )


async def complete_run(
    conn: Connection,
    *,
    run_id: UUID,
    snapshot_at: datetime,
    report: SnapshotReport,
    finding_ids: list[UUID],
) -> None:
    """Store the run's outcome and its (kept) findings in one round trip each."""
    await conn.execute(
        """
        UPDATE reconciliation_runs
        SET status = 'COMPLETED', finished_at = clock_timestamp(), snapshot_at = $2,
            wallets_checked = $3, entries_checked = $4, journals_checked = $5,
            findings_count = $6
        WHERE id = $1
        """,
        run_id,
        snapshot_at,
        report.wallets_checked,
        report.entries_checked,
        report.journals_checked,
        report.findings_count,
    )
    findings = report.findings
    await conn.execute(
        """
        INSERT INTO reconciliation_findings
            (id, run_id, kind, wallet_id, journal_id, currency, expected, actual, detail)
        SELECT f.id, $1, f.kind, f.wallet_id, f.journal_id, f.currency, f.expected, f.actual,
               f.detail
        FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::text[],
                    $7::numeric[], $8::numeric[], $9::text[])
             AS f(id, kind, wallet_id, journal_id, currency, expected, actual, detail)
        """,
        run_id,
        finding_ids,
        [f.kind.value for f in findings],
        [f.wallet_id for f in findings],
        [f.journal_id for f in findings],
        [f.currency for f in findings],
        [f.expected for f in findings],
        [f.actual for f in findings],
        [f.detail for f in findings],
    )


async def fail_run(conn: Connection, *, run_id: UUID, error: str) -> None:
    await conn.execute(
        """UPDATE reconciliation_runs SET status = 'FAILED', finished_at = clock_timestamp(),
                  error = $2 WHERE id = $1""",
        run_id,
        error,
    )


async def find_run(conn: Connection, *, run_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {_RUN_COLUMNS} FROM reconciliation_runs WHERE id = $1",  # noqa: S608  # nosec B608
        run_id,
    )
    return dict(row) if row else None


async def run_findings(conn: Connection, *, run_id: UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT id, kind, wallet_id, journal_id, currency, expected, actual, detail
           FROM reconciliation_findings WHERE run_id = $1 ORDER BY id""",
        run_id,
    )
    return [dict(row) for row in rows]


async def list_runs(conn: Connection, *, before: UUID | None, limit: int) -> list[dict[str, Any]]:
    """Runs newest first (ids are time-ordered), before a keyset cursor."""
    rows = await conn.fetch(
        f"""SELECT {_RUN_COLUMNS} FROM reconciliation_runs
            WHERE $1::uuid IS NULL OR id < $1 ORDER BY id DESC LIMIT $2""",  # noqa: S608  # nosec B608
        before,
        limit,
    )
    return [dict(row) for row in rows]


async def last_completed_start(conn: Connection) -> datetime | None:
    started: datetime | None = await conn.fetchval(
        "SELECT max(started_at) FROM reconciliation_runs WHERE status = 'COMPLETED'"
    )
    return started


async def find_finding(conn: Connection, *, finding_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT id, run_id, kind, wallet_id, journal_id, currency, expected, actual
           FROM reconciliation_findings WHERE id = $1""",
        finding_id,
    )
    return dict(row) if row else None

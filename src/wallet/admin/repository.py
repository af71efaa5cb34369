"""SQL for admin operations: proposals, their decisions, the action log and its events."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from wallet.admin.core import ReversedEntry
from wallet.db.pool import Connection
from wallet.ledger.repository import PostingResult

_ADJUSTMENT_COLUMNS = """id, kind, method, status, wallet_id, currency, amount, finding_id,
    target_journal_id AS transaction_id, applied_journal_id AS applied_transaction_id, reason,
    proposed_by, proposed_at, decided_by, decided_at, decision_reason, trace_id"""


async def idempotency_begin(
    conn: Connection, *, caller: str, key: str, fingerprint: str
) -> tuple[str, int | None, str | None]:
    """(outcome, status, body): 'new', 'replayed' or an idempotency error code."""
    row = await conn.fetchrow(
        "SELECT outcome, status_code, body FROM idempotency_begin($1, $2, $3)",
        caller,
        key,
        fingerprint,
    )
    assert row is not None
    return row["outcome"], row["status_code"], row["body"]


async def idempotency_finish(
    conn: Connection, *, caller: str, key: str, fingerprint: str, status_code: int, body: str
) -> None:
    await conn.execute(
        "SELECT idempotency_finish($1, $2, $3, $4, $5)", caller, key, fingerprint, status_code, body
    )


async def insert_adjustment(
    conn: Connection,
    *,
    adjustment_id: UUID,
    kind: str,
    method: str,
    wallet_id: UUID,
    currency: str,
    amount: int,
    finding_id: UUID | None,
    target_journal_id: UUID | None,
    reason: str,
    proposed_by: str,
    trace_id: str,
) -> dict[str, Any] | None:
    """The new proposal; None when the finding or journal already has a live one."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO adjustments (id, kind, method, wallet_id, currency, amount, finding_id,
                                 target_journal_id, reason, proposed_by, trace_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT DO NOTHING
        RETURNING {_ADJUSTMENT_COLUMNS}
        """,  # noqa: S608 - the interpolated text is a constant column list  # nosec B608
        adjustment_id,
        kind,
        method,
        wallet_id,
        currency,
        amount,
        finding_id,
        target_journal_id,
        reason,
        proposed_by,
        trace_id,
    )
    return dict(row) if row else None


async def find_adjustment(
    conn: Connection, *, adjustment_id: UUID, lock: bool = False
) -> dict[str, Any] | None:
    """The proposal; with ``lock``, locked until the transaction ends (decisions serialise)."""
    row = await conn.fetchrow(
        f"SELECT {_ADJUSTMENT_COLUMNS} FROM adjustments WHERE id = $1"  # noqa: S608  # nosec B608
        + (" FOR UPDATE" if lock else ""),
        adjustment_id,
    )
    return dict(row) if row else None


async def list_adjustments(
    conn: Connection, *, status: str | None, before: UUID | None, limit: int
) -> list[dict[str, Any]]:
    """Proposals newest first (ids are time-ordered), before a keyset cursor."""
    rows = await conn.fetch(
        f"""SELECT {_ADJUSTMENT_COLUMNS} FROM adjustments
            WHERE ($1::text IS NULL OR status = $1) AND ($3::uuid IS NULL OR id < $3)
            ORDER BY id DESC LIMIT $2""",  # noqa: S608  # nosec B608
        status,
        limit,
        before,
    )
    return [dict(row) for row in rows]


async def decide_adjustment(
    conn: Connection,
    *,
    adjustment_id: UUID,
    status: str,
    decided_by: str,
    reason: str | None,
    applied_journal_id: UUID | None,
) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"""
        UPDATE adjustments SET status = $2, decided_by = $3, decided_at = now(),
                               decision_reason = $4, applied_journal_id = $5
        WHERE id = $1 AND status = 'PENDING'
        RETURNING {_ADJUSTMENT_COLUMNS}
        """,  # noqa: S608 - the interpolated text is a constant column list  # nosec B608
        adjustment_id,
        status,
        decided_by,
        reason,
        applied_journal_id,
    )
    assert row is not None, "decide only a PENDING adjustment locked by this transaction"
    return dict(row)


async def lock_wallet(conn: Connection, *, wallet_id: UUID) -> dict[str, Any] | None:
    """A wallet of any kind, locked: what admin steps on it are decided on."""
    row = await conn.fetchrow(
        """SELECT id, kind, currency, status, balance, held, credit_limit FROM wallets
           WHERE id = $1 FOR UPDATE""",
        wallet_id,
    )
    return dict(row) if row else None


async def record_action(
    conn: Connection,
    *,
    action: str,
    actor: str,
    wallet_id: UUID,
    subject_id: UUID | None,
    reason: str | None,
    details: dict[str, Any],
    trace_id: str,
    publish: bool,
    new_status: str | None = None,
    new_credit_limit: int | None = None,
) -> None:
    """Log an admin step; with ``publish``, also as an event on the wallet's stream (the
    wallet's version moves on, as it numbers the stream), optionally changing its status or
    its credit limit."""
    if not publish:
        await conn.execute(
            """INSERT INTO admin_actions (action, actor, wallet_id, subject_id, reason, details,
                                          trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            action,
            actor,
            wallet_id,
            subject_id,
            reason,
            details,
            trace_id,
        )
        return
    await conn.execute(
        """
        WITH changed AS (
            -- updated_at never goes back: a wallet's next posting is timed at or after it.
            UPDATE wallets SET status = coalesce($8, status),
                               credit_limit = coalesce($9, credit_limit),
                               version = version + 1, updated_at = greatest(updated_at, now()),
                               feed_xid = greatest(pg_current_xact_id(), feed_xid)
            WHERE id = $3
            RETURNING id, owner_id, currency, status, balance, held, credit_limit, version,
                      feed_xid
        ), logged AS (
            INSERT INTO admin_actions (action, actor, wallet_id, subject_id, reason, details,
                                       trace_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            RETURNING action, actor, subject_id, reason, details, created_at
        )
        INSERT INTO outbox (event_id, event_type, wallet_id, sequence, feed_xid, payload,
                            trace_id)
        SELECT uuid_v7(), $1, changed.id, changed.version, changed.feed_xid,
               jsonb_build_object(
                   'wallet', jsonb_build_object(
                       'id', changed.id, 'owner_id', changed.owner_id,
                       'currency', changed.currency, 'status', changed.status,
                       'balance', changed.balance, 'held', changed.held,
                       'available', changed.balance - changed.held,
                       'credit_limit', changed.credit_limit, 'version', changed.version),
                   'admin_action', to_jsonb(logged)),
               $7
        FROM changed, logged
        """,
        action,
        actor,
        wallet_id,
        subject_id,
        reason,
        details,
        trace_id,
        new_status,
        new_credit_limit,
    )


async def journal_with_entries(conn: Connection, *, journal_id: UUID) -> dict[str, Any] | None:
    """A journal, its entries (ReversedEntry), and whether it was already reversed."""
    row = await conn.fetchrow(
        """
        SELECT j.id, j.type, j.wallet_id, j.amount, j.currency, j.reference_id, j.hold_id,
               e.wallets, e.kinds, e.amounts, e.held_changes,
               EXISTS (SELECT 1 FROM journals r
                       WHERE r.related_journal_id = j.id AND r.type = 'REVERSAL') AS reversed
        FROM journals j
        CROSS JOIN LATERAL (
            SELECT array_agg(e.wallet_id ORDER BY e.id) AS wallets,
                   array_agg(w.kind ORDER BY e.id) AS kinds,
                   array_agg(e.amount ORDER BY e.id) AS amounts,
                   array_agg(e.held_after - e.held_before ORDER BY e.id) AS held_changes
            FROM entries e JOIN wallets w ON w.id = e.wallet_id
            WHERE e.journal_id = j.id) e
        WHERE j.id = $1
        """,
        journal_id,
    )
    if row is None:
        return None
    columns = (row["wallets"], row["kinds"], row["amounts"], row["held_changes"])
    entries = [ReversedEntry(*values) for values in zip(*(c or [] for c in columns), strict=True)]
    return {**dict(row), "entries": entries}


async def align_entries(
    conn: Connection,
    *,
    journal_id: UUID,
    wallet_id: UUID,
    amount: int,
    metadata: dict[str, Any],
    trace_id: str,
) -> PostingResult:
    """Post an ALIGN_ENTRIES journal (see ledger_align_entries in 0005)."""
    row = await conn.fetchrow(
        "SELECT outcome, status_code, body FROM ledger_align_entries($1, $2, $3, $4, $5)",
        journal_id,
        wallet_id,
        amount,
        metadata,
        trace_id,
    )
    assert row is not None
    return PostingResult(row["outcome"], row["status_code"], row["body"])

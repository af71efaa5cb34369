"""SQL for holds: each operation is one call of its function in sql/holds.sql."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from wallet.db.pool import Connection
from wallet.ledger.calls import AuditResource, MoneyCall, call_function
from wallet.ledger.repository import PostingResult


async def create_hold(
    conn: Connection,
    *,
    call: MoneyCall,
    wallet_id: UUID,
    amount: int,
    ttl_seconds: int,
    reference_type: str | None,
    reference_id: str | None,
    metadata: dict[str, Any],
) -> PostingResult:
    return await call_function(
        conn,
        """SELECT outcome, status_code, body
           FROM hold_create(hold_call_of($1), $2, $3, $4, $5, $6, $7)""",
        call.record(),
        wallet_id,
        amount,
        ttl_seconds,
        reference_type,
        reference_id,
        metadata,
        call=call,
        action="hold.create",
        resource=AuditResource("wallet", wallet_id),
    )


async def capture_hold(
    conn: Connection,
    *,
    call: MoneyCall,
    hold_id: UUID,
    amount: int | None,
    to_wallet_id: UUID | None,
    split_wallets: list[UUID | None] | None,
    split_amounts: list[int] | None,
    final: bool,
) -> PostingResult:
    return await call_function(
        conn,
        """
        SELECT outcome, status_code, body
        FROM hold_capture(hold_call_of($1), $2, $3, $4, $5::uuid[], $6::bigint[], $7)
        """,
        call.record(),
        hold_id,
        amount,
        to_wallet_id,
        split_wallets,
        split_amounts,
        final,
        call=call,
        action="hold.capture",
        resource=AuditResource("hold", hold_id),
    )


async def adjust_hold(
    conn: Connection,
    *,
    call: MoneyCall,
    hold_id: UUID,
    amount: int | None,
    expires_at: datetime | None,
) -> PostingResult:
    return await call_function(
        conn,
        "SELECT outcome, status_code, body FROM hold_adjust(hold_call_of($1), $2, $3, $4)",
        call.record(),
        hold_id,
        amount,
        expires_at,
        call=call,
        action="hold.adjust",
        resource=AuditResource("hold", hold_id),
    )


async def release_hold(
    conn: Connection, *, call: MoneyCall, hold_id: UUID, reason: str | None
) -> PostingResult:
    return await call_function(
        conn,
        "SELECT outcome, status_code, body FROM hold_release(hold_call_of($1), $2, $3)",
        call.record(),
        hold_id,
        reason,
        call=call,
        action="hold.release",
        resource=AuditResource("hold", hold_id),
    )


async def expire_due(conn: Connection, *, batch_size: int, trace_id: str) -> int:
    """Expire one batch of due holds (its own transaction); how many expired."""
    expired: int = await conn.fetchval("SELECT holds_expire($1, $2)", batch_size, trace_id)
    return expired


async def oldest_due_age_seconds(conn: Connection) -> float:
    """Seconds since the earliest deadline of a hold still HELD past it (0: none is due)."""
    age: float = await conn.fetchval(
        """SELECT coalesce(extract(epoch FROM now() - min(expires_at)), 0)::float8
           FROM holds WHERE status = 'HELD' AND expires_at <= now()"""
    )
    return age


async def find_hold(conn: Connection, *, hold_id: UUID, owner_scope: str | None) -> str | None:
    """The hold as JSON text, if the owner scope (None: any) may see it."""
    body: str | None = await conn.fetchval(
        """
        SELECT hold_json(holds)::text FROM holds JOIN wallets ON wallets.id = holds.wallet_id
        WHERE holds.id = $1 AND ($2::text IS NULL OR wallets.owner_id = $2)
        """,
        hold_id,
        owner_scope,
    )
    return body


async def wallet_holds(
    conn: Connection,
    *,
    wallet_id: UUID,
    status: str | None,
    before_id: UUID | None,
    limit: int,
) -> list[tuple[UUID, str]]:
    """A wallet's holds, newest first, before a keyset cursor: (id, JSON text) pairs."""
    rows = await conn.fetch(
        """
        SELECT id, hold_json(holds)::text AS body FROM holds
        WHERE wallet_id = $1 AND ($2::text IS NULL OR status = $2)
          AND ($3::uuid IS NULL OR id < $3)
        ORDER BY id DESC
        LIMIT $4
        """,
        wallet_id,
        status,
        before_id,
        limit,
    )
    return [(row["id"], row["body"]) for row in rows]

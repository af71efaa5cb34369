"""SQL for refunds: one call of ``refund_create`` (sql/refunds.sql)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from wallet.db.pool import Connection
from wallet.ledger.calls import AuditResource, MoneyCall, call_function
from wallet.ledger.repository import PostingResult


async def create_refund(
    conn: Connection,
    *,
    call: MoneyCall,
    transaction_id: UUID,
    amount: int | None,
    reference_id: str | None,
    metadata: dict[str, Any],
) -> PostingResult:
    return await call_function(
        conn,
        "SELECT outcome, status_code, body FROM refund_create(hold_call_of($1), $2, $3, $4, $5)",
        call.record(),
        transaction_id,
        amount,
        reference_id,
        metadata,
        call=call,
        action="money.refund",
        resource=AuditResource("transaction", transaction_id),
    )

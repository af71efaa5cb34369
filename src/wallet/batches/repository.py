"""SQL for batches: the batch's idempotency key (items carry none of their own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wallet.db.pool import Connection


@dataclass(frozen=True, slots=True)
class KeyCheck:
    outcome: str  # 'new', 'replayed', 'idempotency_key_in_use' or 'idempotency_key_reused'
    status_code: int | None
    body: str | None


async def begin(conn: Connection, *, caller: str, key: str, fingerprint: str) -> KeyCheck:
    """Take the batch's key until commit and look for its earlier answer."""
    row = await conn.fetchrow(
        "SELECT outcome, status_code, body FROM idempotency_begin($1, $2, $3)",
        caller,
        key,
        fingerprint,
    )
    assert row is not None  # the function always answers one row
    return KeyCheck(row["outcome"], row["status_code"], row["body"])


async def finish(
    conn: Connection, *, caller: str, key: str, fingerprint: str, status_code: int, body: str
) -> None:
    """Keep the batch's answer under its key, in the batch's transaction."""
    await conn.execute(
        "SELECT idempotency_finish($1, $2, $3, $4, $5)",
        caller,
        key,
        fingerprint,
        status_code,
        body,
    )


async def audit_rejection(
    conn: Connection,
    *,
    actor: str,
    key: str,
    outcome: str,
    client_address: str | None,
    trace_id: str,
    details: dict[str, Any],
) -> None:
    """The audit record of a refused atomic batch (its items' own records rolled back)."""
    await conn.execute(
        "SELECT audit_append(jsonb_build_array(jsonb_build_object("
        "'actor', $1::text, 'action', 'money.batch', 'resource_type', 'batch',"
        " 'resource_id', $2::text, 'outcome', $3::text, 'client_address', $4::text,"
        " 'trace_id', $5::text, 'details', $6::jsonb)))",
        actor,
        key,
        outcome,
        client_address,
        trace_id,
        details,
    )

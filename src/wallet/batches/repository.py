"""SQL for batches: the batch's idempotency key (items carry none of their own)."""

from __future__ import annotations

from dataclasses import dataclass

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

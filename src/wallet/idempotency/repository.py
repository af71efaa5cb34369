"""SQL for idempotency keys beyond the posting path (which keeps them in SQL functions)."""

from __future__ import annotations

from wallet.db.pool import Connection


async def delete_expired(conn: Connection, *, older_than_hours: float, limit: int) -> int:
    """Delete up to ``limit`` keys created more than ``older_than_hours`` ago."""
    deleted: int = await conn.fetchval(
        """
        WITH expired AS (  -- deleted by row address (keys are indexed by hash: 0020)
            SELECT ctid FROM idempotency_keys
            WHERE created_at < now() - make_interval(secs => $1 * 3600)
            ORDER BY created_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), gone AS (
            DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM expired))
            RETURNING 1
        )
        SELECT count(*) FROM gone
        """,
        float(older_than_hours),
        limit,
    )
    return deleted

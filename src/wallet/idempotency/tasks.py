"""Periodic pruning of idempotency keys past their time to live (DESIGN D7: at least 24 h)."""

from __future__ import annotations

from wallet.db.pool import Pool, transaction
from wallet.idempotency import repository


async def prune_expired_keys(pool: Pool, *, ttl_hours: float, batch_size: int) -> int:
    """Delete one batch of keys older than ``ttl_hours``; a retry after that is a new request."""
    async with transaction(pool) as conn:
        return await repository.delete_expired(conn, older_than_hours=ttl_hours, limit=batch_size)

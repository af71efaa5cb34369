"""Periodic outbox upkeep: the backlog gauge and pruning of published events."""

from __future__ import annotations

from wallet.db.pool import Pool, transaction
from wallet.outbox import repository
from wallet.outbox.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_PENDING_AGE


async def refresh_backlog(pool: Pool) -> None:
    async with pool.acquire() as conn:
        pending, oldest_age = await repository.backlog(conn)
    OUTBOX_BACKLOG.set(pending)
    OUTBOX_OLDEST_PENDING_AGE.set(oldest_age)


async def prune_published(pool: Pool, *, retention_hours: float, batch_size: int) -> int:
    """Delete one batch of events published more than ``retention_hours`` ago.

    Pending and dead-lettered events are never pruned: they have not been delivered.
    """
    async with transaction(pool) as conn:
        return await repository.delete_published(
            conn, older_than_hours=retention_hours, limit=batch_size
        )

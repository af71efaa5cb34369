"""Periodic audit work, for the worker to schedule."""

from __future__ import annotations

from datetime import timedelta

from wallet.audit import repository
from wallet.db.pool import Pool, transaction

SEAL_BATCH = 1000
# Rows younger than this are left for the next run: their transactions may still be committing.
SETTLE = timedelta(seconds=5)


async def seal_audit_chain(pool: Pool, *, settle: timedelta = SETTLE) -> int:
    """Link every settled, unsealed audit row into the chain; how many were sealed.

    Safe to run from several workers: one seals, the others return 0 at once.
    """
    total = 0
    while True:
        async with transaction(pool) as conn:
            sealed = await repository.seal(conn, limit=SEAL_BATCH, settle=settle)
        total += sealed
        if sealed < SEAL_BATCH:
            return total

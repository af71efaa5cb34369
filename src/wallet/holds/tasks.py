"""Background work for holds: releasing the ones past their deadline as EXPIRED."""

from __future__ import annotations

from uuid_utils import uuid7

from wallet.db.pool import Pool
from wallet.holds import repository
from wallet.holds.metrics import HOLD_EXPIRY_LAG


async def expire_due_holds(pool: Pool, *, batch_size: int = 500) -> int:
    """Expire every hold past its deadline; return how many this call expired.

    Each batch is one transaction (one call of ``holds_expire``) that claims due holds with
    ``FOR UPDATE SKIP LOCKED``: any number of workers may run this at once, each taking
    different holds, and a hold being captured at that moment is skipped, not waited for.
    Stops when a batch comes back short, so a run ends even while new holds fall due.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    # Measured before sweeping: how far behind the sweeps are, not what one sweep leaves.
    async with pool.acquire() as conn:
        HOLD_EXPIRY_LAG.set(await repository.oldest_due_age_seconds(conn))
    total = 0
    while True:
        async with pool.acquire() as conn:
            expired = await repository.expire_due(
                conn, batch_size=batch_size, trace_id=f"hold-expiry-{uuid7().hex}"
            )
        total += expired
        if expired < batch_size:
            return total

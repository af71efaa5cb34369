"""Background work for promotional credit: expired grants' remaining back as breakage."""

from __future__ import annotations

from uuid_utils import uuid7

from wallet.credits import repository
from wallet.db.pool import Pool


async def expire_due_credits(pool: Pool, *, batch_size: int = 500) -> int:
    """Break every expired grant that can be; return how many BREAKAGE journals were posted.

    Each batch is one transaction (one ``credits_expire`` call) claiming wallets with
    ``FOR UPDATE SKIP LOCKED``, so any number of workers may run it at once. Stops when a batch
    comes back short, so a run ends even while more grants expire.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    total = 0
    while True:
        async with pool.acquire() as conn:
            posted = await repository.expire_due(
                conn, batch_size=batch_size, trace_id=f"credit-expiry-{uuid7().hex}"
            )
        total += posted
        if posted < batch_size:
            return total

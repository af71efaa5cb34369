"""``wallet audit verify``: connect, optionally seal, then walk every chain."""

from __future__ import annotations

import asyncpg

from wallet.audit import service, tasks
from wallet.audit.schemas import Finding
from wallet.config import Settings
from wallet.db.pool import create_pool


async def run_verify(settings: Settings, *, seal: bool) -> list[Finding]:
    if settings.database_url is None:
        raise RuntimeError("WALLET_DATABASE_URL must be resolved first")
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        if seal:
            await tasks.seal_audit_chain(pool)
        conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record]
        async with pool.acquire() as conn:
            return await service.verify(conn)
    finally:
        await pool.close()

"""The asyncpg connection pool and the per-request transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeAlias

import asyncpg
import orjson

from wallet.db import faults

if TYPE_CHECKING:
    from asyncpg import Record
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = asyncpg.Connection[Record] | PoolConnectionProxy[Record]
    Pool: TypeAlias = asyncpg.Pool[Record]
else:  # FastAPI reads these at run time; the generic forms exist only in the stubs
    Connection = asyncpg.Connection
    Pool = asyncpg.Pool


async def _init_connection(conn: Connection) -> None:
    # jsonb in and out as Python objects, serialised by orjson. Binary format (a version
    # byte, then the JSON text). default=str: asyncpg's own UUIDs (ids read back from the
    # database) are not the uuid.UUID that orjson knows.
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda value: b"\x01" + orjson.dumps(value, default=str),
        decoder=lambda data: orjson.loads(data[1:]),
        format="binary",
    )


async def _reset_connection(conn: Connection) -> None:
    """Nothing to reset: the service keeps no session state (no LISTEN, no session locks).

    asyncpg's default reset costs a round trip on every release; open transactions are
    still rolled back by the pool whatever this returns.
    """


async def create_pool(
    database_url: str, *, min_size: int, max_size: int, connect_timeout: float = 5.0
) -> Pool:
    """The pool; it reconnects by itself after an outage (a dead connection is replaced on
    its next acquire), and a failed connect raises ``faults.DatabaseUnreachable``."""
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_reset_connection,
        connect=faults.connect,
        # asyncpg's default is 60 s: an unreachable host would hold requests that long.
        timeout=connect_timeout,
        # UTC timestamps so every rendered time has the same form. No JIT: the service's
        # statements are short, and JIT compiling them (triggered by row estimates, e.g.
        # entries per journal before ANALYZE) cost more than running them, 400 ms a batch.
        server_settings={"timezone": "UTC", "application_name": "wallet-service", "jit": "off"},
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def transaction(pool: Pool) -> AsyncIterator[Connection]:
    """One unit of work: commit when the block ends, roll back when it raises."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn

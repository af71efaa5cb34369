"""Request-scoped database access."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from wallet.db.pool import Connection, Pool


def pool_of(request: Request) -> Pool:
    pool: Pool = request.app.state.pool
    return pool


async def get_pool(request: Request) -> Pool:
    # async: FastAPI runs plain-def dependencies in a thread pool, which costs far more.
    return pool_of(request)


async def get_connection(request: Request) -> AsyncIterator[Connection]:
    """A pooled connection for one request.

    Money movements are one statement (the ledger_post function), which PostgreSQL runs as
    its own transaction: the request's unit of work commits or rolls back as a whole.
    """
    async with pool_of(request).acquire() as conn:
        yield conn


DbConnection = Annotated[Connection, Depends(get_connection)]
DbPool = Annotated[Pool, Depends(get_pool)]

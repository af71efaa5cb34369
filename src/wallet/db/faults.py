"""Database outages answer 503 ``database_unavailable`` with Retry-After (DESIGN D13).

Two places see an outage: opening a connection (refused, reset, timed out, "starting up",
"too many connections") and running a statement on one that dies (admin or crash shutdown,
connection lost mid-query, a failover that left us on a read-only standby). Connection
errors are tagged at the pool's connect hook, so a bare ``OSError`` from elsewhere is never
mistaken for a database outage; statement-time errors are asyncpg's own classes.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from starlette.responses import Response

from wallet.errors import DatabaseUnavailable, problem_for


class DatabaseUnreachable(ConnectionError):
    """A new connection to the database could not be opened (the cause is chained).

    A ``ConnectionError`` so that code already handling ``OSError`` from the database (the
    posting batcher, the audit writer, readiness) keeps handling it unchanged.
    """


# The server is gone, going, not yet back, or no longer the primary.
STATEMENT_OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # 08xxx, incl. "closed in the middle of operation"
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)
OUTAGE_ERRORS: tuple[type[Exception], ...] = (DatabaseUnreachable, *STATEMENT_OUTAGE_ERRORS)
# asyncpg's InterfaceError on a connection the server dropped (other InterfaceErrors are bugs).
_CLOSED_CONNECTION = "connection is closed"


async def connect(*args: Any, **kwargs: Any) -> asyncpg.Connection[Any]:
    """The pool's connect hook: asyncpg.connect, with a failure to connect tagged as such."""
    try:
        connection: asyncpg.Connection[Any] = await asyncpg.connect(*args, **kwargs)
    except (OSError, TimeoutError) as exc:
        raise DatabaseUnreachable(f"{type(exc).__name__}: {exc}") from exc
    return connection


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, OUTAGE_ERRORS):
        return True
    return isinstance(exc, asyncpg.InterfaceError) and str(exc).endswith(_CLOSED_CONNECTION)


def unavailable_for(request: Request) -> DatabaseUnavailable:
    """The 503 for this request, saying what a client may safely do next."""
    if "idempotency-key" in request.headers:
        detail = (
            "The database became unreachable; the request may or may not have been applied. "
            "Retrying with the same Idempotency-Key is safe: it is applied exactly once."
        )
    elif request.method in ("GET", "HEAD", "OPTIONS"):
        detail = "The database is unreachable; retry after the delay in Retry-After."
    else:
        detail = (
            "The database became unreachable; the request may or may not have been applied. "
            "Read the resource before retrying."
        )
    return DatabaseUnavailable(detail)


async def _outage(request: Request, exc: Exception) -> Response:
    if not is_outage(exc):
        raise exc  # a programming error: the server's 500 handler logs it
    return problem_for(unavailable_for(request))


def install_fault_handlers(app: FastAPI) -> None:
    for error in (*OUTAGE_ERRORS, asyncpg.InterfaceError):
        app.add_exception_handler(error, _outage)

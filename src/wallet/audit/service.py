"""Audit use cases: record what a request did, verify the chains."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from starlette.requests import Request

from wallet.audit import repository
from wallet.audit.schemas import AuditRecord, Finding
from wallet.db.pool import Connection, Pool

logger = logging.getLogger(__name__)

ANONYMOUS = "anonymous"


def client_address_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def record_for(
    request: Request,
    *,
    action: str,
    outcome: str,
    resource_type: str = "api",
    resource_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    """An audit record of this request, by whoever the request proved to be."""
    principal = getattr(request.state, "principal", None)
    return AuditRecord(
        actor=principal.subject if principal is not None else ANONYMOUS,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        outcome=outcome,
        client_address=client_address_of(request),
        trace_id=getattr(request.state, "trace_id", None),
        details=details or {},
    )


async def record_outside_transaction(pool: Pool, record: AuditRecord) -> None:
    """Append a record in its own transaction (auth failures, admin actions).

    A database outage must not turn a 401 into a 500, so a failure is logged, loudly.
    """
    try:
        await repository.append(pool, record)
    except (asyncpg.PostgresError, OSError) as exc:
        logger.error(
            "audit record lost",
            extra={"action": record.action, "outcome": record.outcome, "error": type(exc).__name__},
        )


async def verify(conn: Connection) -> list[Finding]:
    """Every changed, inserted or removed row of the audit trail and the ledger."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await repository.find_tampering(conn)

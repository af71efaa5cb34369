"""Reconciliation routes (admin only)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from wallet.auth.dependencies import AdminCaller
from wallet.db.session import DbConnection, DbPool
from wallet.errors import (
    Forbidden,
    InvalidCursor,
    NotAuthenticated,
    ReconciliationInProgress,
    ReconciliationNotFound,
    problem_doc,
)
from wallet.observability import TraceId
from wallet.reconciliation import service, tasks
from wallet.reconciliation.schemas import RunOut, RunPage

router = APIRouter(prefix="/v1/admin", tags=["reconciliation"])


@router.post(
    "/reconcile",
    status_code=201,
    responses=problem_doc(NotAuthenticated, Forbidden, ReconciliationInProgress),
)
async def reconcile(
    caller: AdminCaller, pool: DbPool, request: Request, trace_id: TraceId
) -> RunOut:
    """Run a reconciliation now and answer with the finished run and its findings (201).

    Synchronous: the run reads a consistent snapshot and takes seconds per million entries.
    A second request while one runs gets 409 ``reconciliation_in_progress``.
    """
    return await tasks.run_reconciliation(
        pool,
        limits=tasks.RunLimits.from_settings(request.app.state.settings),
        trigger="api",
        requested_by=caller.subject,
        trace_id=trace_id,
    )


@router.get("/reconciliations", responses=problem_doc(NotAuthenticated, Forbidden, InvalidCursor))
async def list_reconciliations(
    caller: AdminCaller,
    conn: DbConnection,
    request: Request,
    limit: Annotated[int, Query(ge=1, description="Page size; capped by configuration.")] = 20,
    cursor: Annotated[str | None, Query(max_length=128)] = None,
) -> RunPage:
    """Runs, newest first, without their findings."""
    page_cap: int = request.app.state.settings.ledger_page_max
    return await service.list_runs(conn, cursor=cursor, limit=min(limit, page_cap))


@router.get(
    "/reconciliations/{run_id}",
    responses=problem_doc(NotAuthenticated, Forbidden, ReconciliationNotFound),
)
async def get_reconciliation(run_id: UUID, caller: AdminCaller, conn: DbConnection) -> RunOut:
    return await service.get_run(conn, run_id=run_id)

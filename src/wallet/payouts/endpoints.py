"""Payout run routes (admin)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from wallet.auth.dependencies import AdminCaller
from wallet.db.pool import transaction
from wallet.db.session import DbConnection, DbPool
from wallet.errors import (
    Forbidden,
    NotAuthenticated,
    PayoutRunNotFound,
    RequestValidationFailed,
    problem_doc,
)
from wallet.observability import TraceId
from wallet.payouts import service
from wallet.payouts.schemas import PayoutRunOut, PayoutRunRequest

router = APIRouter(prefix="/v1/admin/payout-runs", tags=["admin"])


@router.post(
    "",
    status_code=201,
    responses=problem_doc(NotAuthenticated, Forbidden, RequestValidationFailed),
)
async def start_payout_run(
    body: PayoutRunRequest, caller: AdminCaller, pool: DbPool, trace_id: TraceId
) -> PayoutRunOut:
    """Select the wallets and create their payouts (PENDING, money moved into PAYOUTS); the
    worker (or ``wallet payouts run``) sends them to the rail."""
    async with transaction(pool) as conn:
        return await service.start_run(conn, request=body, actor=caller.subject, trace_id=trace_id)


@router.get("/{run_id}", responses=problem_doc(NotAuthenticated, Forbidden, PayoutRunNotFound))
async def get_payout_run(run_id: UUID, caller: AdminCaller, conn: DbConnection) -> PayoutRunOut:
    """Counts and totals by state."""
    return await service.get_run(conn, run_id=run_id)

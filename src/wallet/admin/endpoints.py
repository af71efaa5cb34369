"""Admin routes: corrections under four eyes, reversals, freezing and closing wallets.

Every route needs the ``admin`` role. Each request is one transaction, committed before the
answer is sent.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from wallet.admin import service
from wallet.admin.core import AdjustmentStatus, WalletAction
from wallet.admin.schemas import (
    AdjustmentList,
    AdjustmentOut,
    AdjustmentRequest,
    ApprovalRequest,
    CreditLimitRequest,
    ReasonRequest,
)
from wallet.admin.service import Actor, IdempotentAnswer
from wallet.auth.dependencies import AdminCaller
from wallet.auth.tokens import Principal
from wallet.db.pool import transaction
from wallet.db.session import DbConnection, DbPool
from wallet.errors import (
    AdjustmentAlreadyDecided,
    AdjustmentAlreadyProposed,
    AdjustmentNotApplicable,
    AdjustmentNotFound,
    AdjustmentStale,
    FindingNotFound,
    Forbidden,
    FourEyesRequired,
    IdempotencyKeyInUse,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidCursor,
    NotAuthenticated,
    TransactionAlreadyReversed,
    TransactionNotFound,
    TransactionNotReversible,
    WalletNotActive,
    WalletNotEmpty,
    WalletNotFound,
    problem_doc,
)
from wallet.idempotency.dependencies import IdempotencyKey
from wallet.ledger.core import request_fingerprint
from wallet.observability import TraceId
from wallet.schemas import RequestModel
from wallet.wallets.schemas import WalletOut

router = APIRouter(prefix="/v1/admin", tags=["admin"])

_PROPOSAL_ERRORS = (
    NotAuthenticated,
    Forbidden,
    WalletNotFound,
    WalletNotActive,
    AdjustmentAlreadyProposed,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
)


def _actor(caller: Principal, trace_id: str) -> Actor:
    return Actor(subject=caller.subject, trace_id=trace_id)


def _fingerprint(request: Request, body: RequestModel) -> str:
    return request_fingerprint(
        method=request.method, path=request.url.path, body=body.model_dump(mode="json")
    )


def _answer(answer: IdempotentAnswer) -> Response:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(
        content=answer.body,
        status_code=answer.status_code,
        media_type="application/json",
        headers=headers,
    )


@router.post(
    "/adjustments",
    status_code=201,
    response_model=AdjustmentOut,
    responses=problem_doc(*_PROPOSAL_ERRORS, FindingNotFound, AdjustmentNotApplicable),
)
async def propose_adjustment(
    body: AdjustmentRequest,
    caller: AdminCaller,
    pool: DbPool,
    request: Request,
    key: IdempotencyKey,
    trace_id: TraceId,
) -> Response:
    """Propose a correction: ``{finding_id, reason}`` or ``{wallet_id, amount, reason}``."""
    actor = _actor(caller, trace_id)
    async with transaction(pool) as conn:
        answer = await service.idempotently(
            conn,
            actor=actor,
            key=key,
            fingerprint=_fingerprint(request, body),
            create=lambda: service.propose_adjustment(conn, request=body, actor=actor),
        )
    return _answer(answer)


@router.post(
    "/transactions/{transaction_id}/reverse",
    status_code=201,
    response_model=AdjustmentOut,
    responses=problem_doc(
        *_PROPOSAL_ERRORS,
        TransactionNotFound,
        TransactionNotReversible,
        TransactionAlreadyReversed,
    ),
)
async def propose_reversal(
    transaction_id: UUID,
    body: ReasonRequest,
    caller: AdminCaller,
    pool: DbPool,
    request: Request,
    key: IdempotencyKey,
    trace_id: TraceId,
) -> Response:
    """Propose reversing a transaction; applied like an adjustment, on a second approval."""
    actor = _actor(caller, trace_id)
    async with transaction(pool) as conn:
        answer = await service.idempotently(
            conn,
            actor=actor,
            key=key,
            fingerprint=_fingerprint(request, body),
            create=lambda: service.propose_reversal(
                conn, journal_id=transaction_id, reason=body.reason, actor=actor
            ),
        )
    return _answer(answer)


@router.get("/adjustments", responses=problem_doc(NotAuthenticated, Forbidden, InvalidCursor))
async def list_adjustments(
    caller: AdminCaller,
    conn: DbConnection,
    request: Request,
    status: AdjustmentStatus | None = None,
    limit: Annotated[int, Query(ge=1, description="Page size; capped by configuration.")] = 50,
    cursor: Annotated[str | None, Query(max_length=128)] = None,
) -> AdjustmentList:
    """Proposals newest first, optionally only those with ``status``."""
    page_cap: int = request.app.state.settings.ledger_page_max
    return await service.list_adjustments(
        conn, status=status, cursor=cursor, limit=min(limit, page_cap)
    )


@router.get(
    "/adjustments/{adjustment_id}",
    responses=problem_doc(NotAuthenticated, Forbidden, AdjustmentNotFound),
)
async def get_adjustment(
    adjustment_id: UUID, caller: AdminCaller, conn: DbConnection
) -> AdjustmentOut:
    return await service.get_adjustment(conn, adjustment_id=adjustment_id)


@router.post(
    "/adjustments/{adjustment_id}/approve",
    responses=problem_doc(
        NotAuthenticated,
        Forbidden,
        FourEyesRequired,
        AdjustmentNotFound,
        AdjustmentAlreadyDecided,
        AdjustmentStale,
        TransactionAlreadyReversed,
        InsufficientFunds,
        WalletNotActive,
    ),
)
async def approve_adjustment(
    adjustment_id: UUID,
    caller: AdminCaller,
    pool: DbPool,
    trace_id: TraceId,
    body: ApprovalRequest | None = None,
) -> AdjustmentOut:
    """Apply the proposal. Only an admin other than its proposer may; approving an applied
    proposal again answers it unchanged."""
    async with transaction(pool) as conn:
        return await service.approve(
            conn,
            adjustment_id=adjustment_id,
            reason=body.reason if body else None,
            actor=_actor(caller, trace_id),
        )


@router.post(
    "/adjustments/{adjustment_id}/reject",
    responses=problem_doc(
        NotAuthenticated, Forbidden, AdjustmentNotFound, AdjustmentAlreadyDecided
    ),
)
async def reject_adjustment(
    adjustment_id: UUID, body: ReasonRequest, caller: AdminCaller, pool: DbPool, trace_id: TraceId
) -> AdjustmentOut:
    async with transaction(pool) as conn:
        return await service.reject(
            conn, adjustment_id=adjustment_id, reason=body.reason, actor=_actor(caller, trace_id)
        )


@router.post(
    "/wallets/{wallet_id}/{action}",
    responses=problem_doc(
        NotAuthenticated, Forbidden, WalletNotFound, WalletNotActive, WalletNotEmpty
    ),
)
async def change_wallet_status(
    wallet_id: UUID,
    action: WalletAction,
    body: ReasonRequest,
    caller: AdminCaller,
    pool: DbPool,
    trace_id: TraceId,
) -> WalletOut:
    """``freeze`` (no outgoing money; holds still releasable), ``unfreeze``, or ``close`` (only
    with zero balance and zero held; final)."""
    async with transaction(pool) as conn:
        return await service.change_wallet_status(
            conn,
            wallet_id=wallet_id,
            action=action,
            reason=body.reason,
            actor=_actor(caller, trace_id),
        )


@router.put(
    "/wallets/{wallet_id}/credit-limit",
    responses=problem_doc(
        NotAuthenticated, Forbidden, WalletNotFound, WalletNotActive, InsufficientFunds
    ),
)
async def set_credit_limit(
    wallet_id: UUID,
    body: CreditLimitRequest,
    caller: AdminCaller,
    pool: DbPool,
    trace_id: TraceId,
) -> WalletOut:
    """Let the wallet's available go down to ``-credit_limit`` (e.g. a driver who collected
    cash rides owes the commission); logged with its reason and published."""
    async with transaction(pool) as conn:
        return await service.set_credit_limit(
            conn,
            wallet_id=wallet_id,
            credit_limit=body.credit_limit,
            reason=body.reason,
            actor=_actor(caller, trace_id),
        )

"""POST /v1/batches: many money items under one Idempotency-Key, atomic or item by item."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from wallet.audit.service import client_address_of
from wallet.auth.dependencies import AnyCaller
from wallet.batches import service
from wallet.batches.schemas import BatchOut, BatchRequest
from wallet.db.pool import transaction
from wallet.db.session import DbPool
from wallet.errors import (
    BatchRejected,
    Forbidden,
    HoldNotFound,
    IdempotencyKeyInUse,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    NotAuthenticated,
    PayloadTooLarge,
    WalletNotFound,
    problem_doc,
)
from wallet.holds.service import HoldLimits
from wallet.idempotency.dependencies import IdempotencyKey
from wallet.ledger.core import request_fingerprint
from wallet.observability import TraceId

router = APIRouter(tags=["batches"])


@router.post(
    "/v1/batches",
    status_code=201,
    response_model=BatchOut,
    responses=problem_doc(
        NotAuthenticated,
        Forbidden,
        WalletNotFound,
        HoldNotFound,
        BatchRejected,
        PayloadTooLarge,
        IdempotencyKeyRequired,
        IdempotencyKeyReused,
        IdempotencyKeyInUse,
    ),
)
async def post_batch(
    body: BatchRequest,
    caller: AnyCaller,
    key: IdempotencyKey,
    pool: DbPool,
    request: Request,
    trace_id: TraceId,
) -> Response:
    settings = request.app.state.settings
    call = service.BatchCall(
        caller=caller,
        key=key,
        fingerprint=request_fingerprint(
            method=request.method, path=request.url.path, body=body.model_dump(mode="json")
        ),
        trace_id=trace_id,
        client_address=client_address_of(request),
    )
    limits = HoldLimits(
        default_ttl_seconds=settings.hold_default_ttl_seconds,
        max_ttl_seconds=settings.hold_max_ttl_seconds,
    )
    # The batch is one unit of work: its key, every item and its kept answer commit together.
    async with transaction(pool) as conn:
        answer = await service.run_batch(conn, call=call, request=body, limits=limits)
    if answer.refusal is not None:
        raise answer.refusal
    # Rendered once the wallets' locks are released: a transaction's rendering never changes.
    async with pool.acquire() as conn:
        text = await service.answer_text(conn, answer.body)
    return Response(
        content=service.batch_for_caller(text, caller),
        status_code=answer.status_code,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if answer.replayed else None,
    )

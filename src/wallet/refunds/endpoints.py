"""Refund route: platform roles only; answers with the REFUND transaction, or replays it."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from starlette.responses import Response

from wallet.auth.dependencies import PlatformCaller
from wallet.errors import (
    Forbidden,
    IdempotencyKeyInUse,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InsufficientFunds,
    NotAuthenticated,
    RefundExceeded,
    TransactionNotFound,
    TransactionNotRefundable,
    WalletNotActive,
    problem_doc,
)
from wallet.idempotency.dependencies import IdempotencyKey
from wallet.ledger.dependencies import CallRequest
from wallet.ledger.responses import transaction_response
from wallet.ledger.schemas import TransactionOut
from wallet.refunds import service
from wallet.refunds.schemas import RefundCreate

router = APIRouter(tags=["transactions"])


@router.post(
    "/v1/transactions/{transaction_id}/refund",
    status_code=201,
    response_model=TransactionOut,
    responses=problem_doc(
        NotAuthenticated,
        Forbidden,
        TransactionNotFound,
        TransactionNotRefundable,
        RefundExceeded,
        InsufficientFunds,
        WalletNotActive,
        IdempotencyKeyRequired,
        IdempotencyKeyReused,
        IdempotencyKeyInUse,
    ),
)
async def refund_transaction(
    transaction_id: UUID,
    body: RefundCreate,
    caller: PlatformCaller,
    key: IdempotencyKey,
    money: CallRequest,
) -> Response:
    posted = await service.refund_transaction(
        money.conn,
        call=money.call(caller, key, body),
        transaction_id=transaction_id,
        request=body,
    )
    return transaction_response(posted, caller)

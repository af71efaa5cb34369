"""Money movement routes. Each answers with the posted transaction, or replays it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from wallet.audit.service import client_address_of
from wallet.auth.dependencies import AnyCaller, PlatformCaller
from wallet.auth.tokens import Principal
from wallet.db.pool import transaction
from wallet.db.session import DbPool
from wallet.errors import (
    AmountOutOfRange,
    CurrencyMismatch,
    Forbidden,
    IdempotencyKeyInUse,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InsufficientFunds,
    InsufficientWithdrawableFunds,
    NotAuthenticated,
    QuoteExpired,
    QuoteNotFound,
    SameWallet,
    WalletNotActive,
    WalletNotFound,
    problem_doc,
)
from wallet.fx import service as fx_service
from wallet.idempotency.dependencies import IdempotencyKey
from wallet.ledger.batcher import PostingBatcher
from wallet.ledger.core import PostingContext, request_fingerprint
from wallet.ledger.responses import transaction_response
from wallet.ledger.schemas import TransactionOut
from wallet.observability import TraceId, Traceparent
from wallet.schemas import RequestModel
from wallet.transfers import service
from wallet.transfers.schemas import MovementRequest, TransferRequest

router = APIRouter(prefix="/v1/wallets/{wallet_id}", tags=["transactions"])

_MONEY_ERROR_TYPES = (
    NotAuthenticated,
    Forbidden,
    WalletNotFound,
    WalletNotActive,
    InsufficientFunds,
    InsufficientWithdrawableFunds,
    AmountOutOfRange,
    CurrencyMismatch,
    SameWallet,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
)
_MONEY_ERRORS = problem_doc(*_MONEY_ERROR_TYPES)


@dataclass(frozen=True, slots=True)
class MoneyRequestParts:
    """The parts every money route needs, gathered once as a dependency."""

    request: Request
    ledger: PostingBatcher
    key: str
    trace_id: str
    traceparent: str | None

    def context(self, caller: Principal, body: RequestModel) -> PostingContext:
        """Who is asking, under which key, for exactly what."""
        fingerprint = request_fingerprint(
            method=self.request.method,
            path=self.request.url.path,
            body=body.model_dump(mode="json"),
        )
        return PostingContext(
            caller=caller.subject,
            idempotency_key=self.key,
            fingerprint=fingerprint,
            trace_id=self.trace_id,
            required_owner=caller.owner_scope,
            client_address=client_address_of(self.request),
            traceparent=self.traceparent,
        )


async def money_request_parts(
    request: Request, key: IdempotencyKey, trace_id: TraceId, traceparent: Traceparent
) -> MoneyRequestParts:
    batcher: PostingBatcher = request.app.state.posting_batcher
    return MoneyRequestParts(
        request=request, ledger=batcher, key=key, trace_id=trace_id, traceparent=traceparent
    )


MoneyRequest = Annotated[MoneyRequestParts, Depends(money_request_parts)]


@router.post("/deposit", status_code=201, response_model=TransactionOut, responses=_MONEY_ERRORS)
async def deposit(
    wallet_id: UUID, body: MovementRequest, caller: PlatformCaller, money: MoneyRequest
) -> Response:
    posted = await service.deposit(
        money.ledger, context=money.context(caller, body), wallet_id=wallet_id, request=body
    )
    return transaction_response(posted, caller)


@router.post("/withdraw", status_code=201, response_model=TransactionOut, responses=_MONEY_ERRORS)
async def withdraw(
    wallet_id: UUID, body: MovementRequest, caller: PlatformCaller, money: MoneyRequest
) -> Response:
    posted = await service.withdraw(
        money.ledger, context=money.context(caller, body), wallet_id=wallet_id, request=body
    )
    return transaction_response(posted, caller)


@router.post(
    "/transfer",
    status_code=201,
    response_model=TransactionOut,
    responses=problem_doc(*_MONEY_ERROR_TYPES, QuoteNotFound, QuoteExpired),
)
async def transfer(
    wallet_id: UUID, body: TransferRequest, caller: AnyCaller, money: MoneyRequest, pool: DbPool
) -> Response:
    """Same currency: ``amount``. Across currencies: ``quote_id`` (one journal with entries
    in both currencies, balanced in each through the FX wallets; the spread to FEES)."""
    if body.quote_id is not None:
        # In its own transaction with the quote locked: a quote is used once.
        async with transaction(pool) as conn:
            posted = await fx_service.exchange(
                conn,
                context=money.context(caller, body),
                wallet_id=wallet_id,
                to_wallet_id=body.to_wallet_id,
                quote_id=body.quote_id,
                amount=body.amount,
                reference_id=body.reference_id,
                category=body.category,
            )
        return transaction_response(posted, caller)
    posted = await service.transfer(
        money.ledger, context=money.context(caller, body), wallet_id=wallet_id, request=body
    )
    return transaction_response(posted, caller)

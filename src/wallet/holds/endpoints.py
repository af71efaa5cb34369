"""Hold routes. Money-affecting ones answer with what the database function returned (first
answer or its byte-for-byte replay)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import Response

from wallet.auth.dependencies import AnyCaller, PlatformCaller
from wallet.db.session import DbConnection
from wallet.errors import (
    CurrencyMismatch,
    Forbidden,
    HoldAmountBelowCaptured,
    HoldExceeded,
    HoldNotActive,
    HoldNotFound,
    IdempotencyKeyInUse,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidCursor,
    NotAuthenticated,
    SameWallet,
    WalletNotActive,
    WalletNotFound,
    problem_doc,
)
from wallet.holds import service
from wallet.holds.schemas import (
    CaptureOut,
    HoldAdjust,
    HoldCapture,
    HoldCreate,
    HoldOut,
    HoldPage,
    HoldRelease,
    HoldStatus,
)
from wallet.holds.service import HoldLimits
from wallet.idempotency.dependencies import IdempotencyKey, required_idempotency_key
from wallet.ledger.dependencies import CallParts
from wallet.ledger.responses import transaction_response
from wallet.observability import TraceId

router = APIRouter(tags=["holds"])

_KEY_ERRORS = (IdempotencyKeyRequired, IdempotencyKeyReused, IdempotencyKeyInUse)
_AUTH_ERRORS = (NotAuthenticated, Forbidden)


async def optional_idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="Optional here: release is idempotent."),
    ] = None,
) -> str | None:
    if idempotency_key is None:
        return None
    return await required_idempotency_key(idempotency_key)


class _HoldRequest(CallParts):
    """The parts every hold route needs: the call's, and the hold limits."""

    @property
    def limits(self) -> HoldLimits:
        settings = self.request.app.state.settings
        return HoldLimits(
            default_ttl_seconds=settings.hold_default_ttl_seconds,
            max_ttl_seconds=settings.hold_max_ttl_seconds,
        )


async def hold_request(request: Request, conn: DbConnection, trace_id: TraceId) -> _HoldRequest:
    # An async factory: FastAPI would run a class dependency in its thread pool.
    return _HoldRequest(request, conn, trace_id)


HoldRequest = Annotated[_HoldRequest, Depends(hold_request)]


@router.post(
    "/v1/wallets/{wallet_id}/holds",
    status_code=201,
    response_model=HoldOut,
    responses=problem_doc(
        *_AUTH_ERRORS, WalletNotFound, WalletNotActive, InsufficientFunds, *_KEY_ERRORS
    ),
)
async def create_hold(
    wallet_id: UUID, body: HoldCreate, caller: AnyCaller, key: IdempotencyKey, hold: HoldRequest
) -> Response:
    posted = await service.create_hold(
        hold.conn,
        call=hold.call(caller, key, body),
        wallet_id=wallet_id,
        request=body,
        limits=hold.limits,
    )
    return transaction_response(posted, caller)


@router.get(
    "/v1/wallets/{wallet_id}/holds",
    response_model=HoldPage,
    responses=problem_doc(NotAuthenticated, WalletNotFound, InvalidCursor),
)
async def wallet_holds(
    wallet_id: UUID,
    caller: AnyCaller,
    conn: DbConnection,
    request: Request,
    status: HoldStatus | None = None,
    limit: Annotated[int, Query(ge=1, description="Page size; capped by configuration.")] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    page_cap: int = request.app.state.settings.ledger_page_max
    page = await service.wallet_holds_page(
        conn,
        wallet_id=wallet_id,
        caller=caller,
        status=status,
        cursor=cursor,
        limit=min(limit, page_cap),
    )
    return Response(content=page, media_type="application/json")


@router.get(
    "/v1/holds/{hold_id}",
    response_model=HoldOut,
    responses=problem_doc(NotAuthenticated, HoldNotFound),
)
async def get_hold(hold_id: UUID, caller: AnyCaller, conn: DbConnection) -> Response:
    body = await service.get_hold(conn, hold_id=hold_id, caller=caller)
    return Response(content=body, media_type="application/json")


@router.post(
    "/v1/holds/{hold_id}/capture",
    status_code=201,
    response_model=CaptureOut,
    responses=problem_doc(
        *_AUTH_ERRORS,
        HoldNotFound,
        HoldNotActive,
        HoldExceeded,
        SameWallet,
        WalletNotFound,
        WalletNotActive,
        CurrencyMismatch,
        *_KEY_ERRORS,
    ),
)
async def capture_hold(
    hold_id: UUID, body: HoldCapture, caller: PlatformCaller, key: IdempotencyKey, hold: HoldRequest
) -> Response:
    posted = await service.capture_hold(
        hold.conn, call=hold.call(caller, key, body), hold_id=hold_id, request=body
    )
    return transaction_response(posted, caller)


@router.post(
    "/v1/holds/{hold_id}/adjust",
    response_model=HoldOut,
    responses=problem_doc(
        *_AUTH_ERRORS,
        HoldNotFound,
        HoldNotActive,
        HoldAmountBelowCaptured,
        InsufficientFunds,
        WalletNotActive,
        *_KEY_ERRORS,
    ),
)
async def adjust_hold(
    hold_id: UUID, body: HoldAdjust, caller: PlatformCaller, key: IdempotencyKey, hold: HoldRequest
) -> Response:
    posted = await service.adjust_hold(
        hold.conn,
        call=hold.call(caller, key, body),
        hold_id=hold_id,
        request=body,
        limits=hold.limits,
    )
    return transaction_response(posted, caller)


@router.post(
    "/v1/holds/{hold_id}/release",
    response_model=HoldOut,
    responses=problem_doc(*_AUTH_ERRORS, HoldNotFound, HoldNotActive, *_KEY_ERRORS[1:]),
)
async def release_hold(
    hold_id: UUID,
    caller: AnyCaller,
    hold: HoldRequest,
    key: Annotated[str | None, Depends(optional_idempotency_key)],
    body: HoldRelease | None = None,
) -> Response:
    body = body or HoldRelease()  # no body and an empty one are the same request
    posted = await service.release_hold(
        hold.conn, call=hold.call(caller, key, body), hold_id=hold_id, reason=body.reason
    )
    return transaction_response(posted, caller)

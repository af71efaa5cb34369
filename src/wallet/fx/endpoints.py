"""FX routes: rates (admin), quotes, and the FX position (admin). Transfers across
currencies are ``POST /v1/wallets/{id}/transfer`` with a ``quote_id`` (transfers/)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from wallet.auth.dependencies import AdminCaller, AnyCaller
from wallet.config import Settings
from wallet.db.pool import transaction
from wallet.db.session import DbConnection, DbPool
from wallet.errors import (
    AmountOutOfRange,
    CurrencyMismatch,
    Forbidden,
    FxRateNotFound,
    NotAuthenticated,
    RequestValidationFailed,
    WalletNotFound,
    problem_doc,
)
from wallet.fx import service
from wallet.fx.schemas import FxPositionReport, FxRateOut, FxRateRequest, QuoteOut, QuoteRequest

admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])
router = APIRouter(prefix="/v1/fx", tags=["fx"])


@admin_router.put(
    "/fx-rates/{base}/{quote}",
    responses=problem_doc(NotAuthenticated, Forbidden, RequestValidationFailed),
)
async def set_fx_rate(
    base: str, quote: str, body: FxRateRequest, caller: AdminCaller, pool: DbPool
) -> FxRateOut:
    """Store the rate of ``base`` in ``quote`` (exact decimal string) with its source."""
    async with transaction(pool) as conn:
        return await service.set_rate(
            conn, base=base, quote=quote, request=body, actor=caller.subject
        )


@admin_router.get("/fx-position", responses=problem_doc(NotAuthenticated, Forbidden))
async def fx_position(caller: AdminCaller, conn: DbConnection) -> FxPositionReport:
    """The FX wallets' balance per currency, and what was exchanged per currency pair."""
    return await service.position_report(conn)


@router.post(
    "/quotes",
    status_code=201,
    responses=problem_doc(
        NotAuthenticated,
        Forbidden,
        WalletNotFound,
        CurrencyMismatch,
        FxRateNotFound,
        AmountOutOfRange,
    ),
)
async def create_quote(
    body: QuoteRequest, caller: AnyCaller, pool: DbPool, request: Request
) -> QuoteOut:
    """Lock the current rate for ``WALLET_FX_QUOTE_TTL_SECONDS``: both amounts in minor
    units, the spread, and the rounding rule. Only this caller may use it, once."""
    settings: Settings = request.app.state.settings
    async with transaction(pool) as conn:
        return await service.create_quote(
            conn,
            caller=caller,
            request=body,
            ttl_seconds=settings.fx_quote_ttl_seconds,
            spread_rate=settings.fx_spread,
        )

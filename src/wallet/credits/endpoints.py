"""Promotional credit routes: grant (payments, admin) and list a wallet's grants."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.responses import Response

from wallet.auth.dependencies import AnyCaller, PlatformCaller
from wallet.credits import service
from wallet.credits.schemas import CreditGrantList, CreditGrantOut, CreditGrantRequest
from wallet.db.pool import transaction
from wallet.db.session import DbConnection, DbPool
from wallet.errors import (
    AmountOutOfRange,
    Forbidden,
    IdempotencyKeyInUse,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InvalidCursor,
    NotAuthenticated,
    WalletNotActive,
    WalletNotFound,
    problem_doc,
)
from wallet.transfers.endpoints import MoneyRequest

router = APIRouter(prefix="/v1/wallets/{wallet_id}/credits", tags=["credits"])


@router.post(
    "",
    status_code=201,
    response_model=CreditGrantOut,
    responses=problem_doc(
        NotAuthenticated,
        Forbidden,
        WalletNotFound,
        WalletNotActive,
        AmountOutOfRange,
        IdempotencyKeyRequired,
        IdempotencyKeyReused,
        IdempotencyKeyInUse,
    ),
)
async def grant_credit(
    wallet_id: UUID,
    body: CreditGrantRequest,
    caller: PlatformCaller,
    money: MoneyRequest,
    pool: DbPool,
) -> Response:
    """Grant promotional credit from the currency's PROMOTIONS wallet. It pays for rides
    (spent before cash, soonest-expiring grant first), never leaves as cash, and what is left
    of it at ``expires_at`` goes back to PROMOTIONS (a BREAKAGE journal)."""
    # Alone in its own transaction, not through the batcher: the grant row is written
    # beside its journal (see credits.sql).
    async with transaction(pool) as conn:
        posted = await service.grant(
            conn, context=money.context(caller, body), wallet_id=wallet_id, request=body
        )
    headers = {"Idempotent-Replayed": "true"} if posted.replayed else None
    return Response(
        content=posted.body,
        status_code=posted.status_code,
        media_type="application/json",
        headers=headers,
    )


@router.get("", responses=problem_doc(NotAuthenticated, Forbidden, WalletNotFound, InvalidCursor))
async def list_credits(
    wallet_id: UUID,
    caller: AnyCaller,
    conn: DbConnection,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CreditGrantList:
    """The wallet's grants, newest first."""
    return await service.list_grants(
        conn, wallet_id=wallet_id, caller=caller, cursor=cursor, limit=limit
    )

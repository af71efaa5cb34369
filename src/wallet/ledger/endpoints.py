"""Ledger routes: a wallet's entries, newest first."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from wallet.auth.dependencies import AnyCaller
from wallet.db.session import DbConnection
from wallet.errors import InvalidCursor, NotAuthenticated, WalletNotFound, problem_doc
from wallet.ledger import service
from wallet.ledger.schemas import LedgerPage

router = APIRouter(tags=["ledger"])


@router.get(
    "/v1/wallets/{wallet_id}/ledger",
    responses=problem_doc(NotAuthenticated, WalletNotFound, InvalidCursor),
)
async def wallet_ledger(
    wallet_id: UUID,
    caller: AnyCaller,
    conn: DbConnection,
    request: Request,
    limit: Annotated[int, Query(ge=1, description="Page size; capped by configuration.")] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> LedgerPage:
    page_cap: int = request.app.state.settings.ledger_page_max
    return await service.wallet_ledger(
        conn, wallet_id=wallet_id, caller=caller, cursor=cursor, limit=min(limit, page_cap)
    )

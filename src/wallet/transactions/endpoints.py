"""Transaction routes: lookup, search, and a wallet's balance at an instant."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime
from starlette.responses import Response

from wallet.auth.dependencies import AnyCaller
from wallet.db.session import DbConnection
from wallet.errors import (
    InvalidCursor,
    NotAuthenticated,
    RequestValidationFailed,
    TransactionNotFound,
    WalletNotFound,
    problem_doc,
)
from wallet.ledger.schemas import TransactionOut
from wallet.schemas import Category, ReferenceId
from wallet.transactions import service
from wallet.transactions.repository import Filters
from wallet.transactions.schemas import BalanceAt, TransactionPage

router = APIRouter(tags=["transactions"])

_METADATA_PARAM = re.compile(r"^metadata\[([^\[\]]{1,64})\]$")
MAX_METADATA_FILTERS = 8


def _metadata_filters(request: Request) -> dict[str, str]:
    """``metadata[key]=value`` query parameters: string values the metadata must contain."""
    found: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        match = _METADATA_PARAM.match(name)
        if match is None:
            continue
        if match.group(1) in found or len(found) == MAX_METADATA_FILTERS or "\x00" in value:
            raise RequestValidationFailed(
                "at most 8 distinct metadata[key] filters, one value each, no NUL",
                errors=[{"loc": ["query", name], "message": "invalid metadata filter"}],
            )
        found[match.group(1)] = value
    return found


@router.get(
    "/v1/transactions/{transaction_id}",
    response_model=TransactionOut,
    responses=problem_doc(NotAuthenticated, TransactionNotFound),
)
async def get_transaction(transaction_id: UUID, caller: AnyCaller, conn: DbConnection) -> Response:
    body = await service.get_transaction(conn, transaction_id=transaction_id, caller=caller)
    return Response(content=body, media_type="application/json")


@router.get(
    "/v1/transactions",
    response_model=TransactionPage,
    responses=problem_doc(NotAuthenticated, WalletNotFound, InvalidCursor),
    description=(
        "Transactions newest first. `wallet_id`: those that touched the wallet. "
        "`metadata[key]=value` (repeatable, up to 8 keys): metadata holding that string value. "
        "A `user` sees only transactions that touched its own wallets."
    ),
)
async def search_transactions(
    caller: AnyCaller,
    conn: DbConnection,
    request: Request,
    wallet_id: UUID | None = None,
    reference_id: Annotated[ReferenceId | None, Query()] = None,
    category: Annotated[Category | None, Query()] = None,
    type: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    created_from: Annotated[AwareDatetime | None, Query(description="Inclusive.")] = None,
    created_to: Annotated[AwareDatetime | None, Query(description="Exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, description="Page size; capped by configuration.")] = 50,
    cursor: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    page_cap: int = request.app.state.settings.ledger_page_max
    filters = Filters(
        reference_id=reference_id,
        category=category,
        type=type,
        created_from=created_from,
        created_to=created_to,
        metadata=_metadata_filters(request),
    )
    page = await service.search(
        conn,
        caller=caller,
        wallet_id=wallet_id,
        filters=filters,
        cursor=cursor,
        limit=min(limit, page_cap),
    )
    return Response(content=page, media_type="application/json")


@router.get(
    "/v1/wallets/{wallet_id}/balance",
    responses=problem_doc(NotAuthenticated, WalletNotFound),
)
async def balance_at(
    wallet_id: UUID,
    at: Annotated[AwareDatetime, Query(description="RFC 3339 instant, with its offset.")],
    caller: AnyCaller,
    conn: DbConnection,
) -> BalanceAt:
    return await service.balance_at(conn, wallet_id=wallet_id, at=at, caller=caller)

"""Wallet routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from wallet.auth.dependencies import AnyCaller, PlatformCaller
from wallet.db.session import DbConnection
from wallet.errors import (
    Forbidden,
    NotAuthenticated,
    WalletAlreadyExists,
    WalletNotFound,
    problem_doc,
)
from wallet.observability import TraceId
from wallet.wallets import service
from wallet.wallets.schemas import OwnerId, WalletCreate, WalletList, WalletOut

router = APIRouter(prefix="/v1/wallets", tags=["wallets"])


@router.post(
    "",
    status_code=201,
    responses=problem_doc(NotAuthenticated, Forbidden, WalletAlreadyExists),
)
async def create_wallet(
    body: WalletCreate, caller: PlatformCaller, conn: DbConnection, trace_id: TraceId
) -> WalletOut:
    return await service.create_wallet(conn, request=body, trace_id=trace_id)


@router.get("/{wallet_id}", responses=problem_doc(NotAuthenticated, WalletNotFound))
async def get_wallet(wallet_id: UUID, caller: AnyCaller, conn: DbConnection) -> WalletOut:
    return await service.get_wallet(conn, wallet_id=wallet_id, caller=caller)


@router.get("", responses=problem_doc(NotAuthenticated))
async def list_wallets(
    caller: AnyCaller,
    conn: DbConnection,
    owner_id: Annotated[OwnerId | None, Query()] = None,
) -> WalletList:
    items = await service.list_wallets(conn, owner_id=owner_id, caller=caller)
    return WalletList(items=items)

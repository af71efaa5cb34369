"""Wallet routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from wallet.audit.dependencies import AuditContext
from wallet.auth.dependencies import AnyCaller
from wallet.db.session import DbConnection
from wallet.errors import (
    Forbidden,
    InvalidCursor,
    NotAuthenticated,
    WalletAlreadyExists,
    WalletNotFound,
    problem_doc,
)
from wallet.pii import PiiCipher
from wallet.wallets import service
from wallet.wallets.schemas import OwnerId, WalletCreate, WalletList, WalletOut

router = APIRouter(prefix="/v1/wallets", tags=["wallets"])


async def _cipher(request: Request) -> PiiCipher:
    cipher: PiiCipher = request.app.state.pii
    return cipher


Cipher = Annotated[PiiCipher, Depends(_cipher)]


@router.post(
    "",
    status_code=201,
    responses=problem_doc(NotAuthenticated, Forbidden, WalletAlreadyExists),
)
async def create_wallet(
    body: WalletCreate, audit: AuditContext, conn: DbConnection, cipher: Cipher
) -> WalletOut:
    return await service.create_wallet(conn, request=body, audit=audit, cipher=cipher)


@router.get("/{wallet_id}", responses=problem_doc(NotAuthenticated, WalletNotFound))
async def get_wallet(
    wallet_id: UUID, caller: AnyCaller, conn: DbConnection, cipher: Cipher
) -> WalletOut:
    return await service.get_wallet(conn, wallet_id=wallet_id, caller=caller, cipher=cipher)


@router.get("", responses=problem_doc(NotAuthenticated, InvalidCursor))
async def list_wallets(
    caller: AnyCaller,
    conn: DbConnection,
    cipher: Cipher,
    request: Request,
    owner_id: Annotated[OwnerId | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, description="Page size; capped by configuration.")] = 50,
    cursor: Annotated[str | None, Query(max_length=128)] = None,
) -> WalletList:
    page_cap: int = request.app.state.settings.ledger_page_max
    return await service.list_wallets(
        conn,
        owner_id=owner_id,
        caller=caller,
        cipher=cipher,
        cursor=cursor,
        limit=min(limit, page_cap),
    )

"""Wallet use cases."""

from __future__ import annotations

from uuid import UUID

from uuid_utils.compat import uuid7

from wallet.auth.tokens import Principal
from wallet.db.pool import Connection
from wallet.errors import RequestValidationFailed, WalletAlreadyExists, WalletNotFound
from wallet.wallets import repository
from wallet.wallets.schemas import WalletCreate, WalletOut


async def create_wallet(conn: Connection, *, request: WalletCreate, trace_id: str) -> WalletOut:
    row = await repository.insert_wallet(
        conn,
        wallet_id=uuid7(),
        owner_id=request.owner_id,
        currency=request.currency,
        metadata=request.metadata,
        trace_id=trace_id,
    )
    if row is None:
        raise WalletAlreadyExists(
            f"{request.owner_id} already has a {request.currency} wallet",
        )
    return WalletOut.model_validate(row)


async def get_wallet(conn: Connection, *, wallet_id: UUID, caller: Principal) -> WalletOut:
    """The wallet if the caller may see it; a foreign wallet is reported as missing."""
    row = await repository.find_wallet(conn, wallet_id=wallet_id, owner_scope=caller.owner_scope)
    if row is None:
        raise WalletNotFound()
    return WalletOut.model_validate(row)


async def list_wallets(
    conn: Connection, *, owner_id: str | None, caller: Principal
) -> list[WalletOut]:
    scope = caller.owner_scope
    if scope is not None and owner_id not in (None, scope):
        return []  # another owner's wallets do not exist for this caller
    wanted_owner = owner_id or scope
    if wanted_owner is None:
        raise RequestValidationFailed(
            "owner_id is required",
            errors=[{"loc": ["query", "owner_id"], "message": "Field required"}],
        )
    rows = await repository.find_owner_wallets(conn, owner_id=wanted_owner)
    return [WalletOut.model_validate(row) for row in rows]

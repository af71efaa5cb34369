"""Wallet use cases."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from uuid_utils.compat import uuid7

from wallet.audit.schemas import RequestAudit
from wallet.auth.tokens import Principal
from wallet.db.pool import Connection
from wallet.errors import RequestValidationFailed, WalletAlreadyExists, WalletNotFound
from wallet.paging import decode_cursor, encode_cursor
from wallet.pii import PiiCipher
from wallet.wallets import repository
from wallet.wallets.schemas import WalletCreate, WalletList, WalletOut


def _wallet_out(row: dict[str, Any], cipher: PiiCipher) -> WalletOut:
    """The wallet as the API shows it: PII fields decrypted for the caller allowed to see it."""
    metadata = cipher.decrypt_metadata(row["metadata"], wallet_id=row["id"])
    return WalletOut.model_validate({**row, "metadata": metadata})


async def create_wallet(
    conn: Connection, *, request: WalletCreate, audit: RequestAudit, cipher: PiiCipher
) -> WalletOut:
    wallet_id = uuid7()
    row = await repository.insert_wallet(
        conn,
        wallet_id=wallet_id,
        owner_id=request.owner_id,
        currency=request.currency,
        metadata=cipher.encrypt_metadata(request.metadata, wallet_id=wallet_id),
        audit=audit,
    )
    if row is None:
        raise WalletAlreadyExists(
            f"{request.owner_id} already has a {request.currency} wallet",
        )
    return _wallet_out(row, cipher)


async def get_wallet(
    conn: Connection, *, wallet_id: UUID, caller: Principal, cipher: PiiCipher
) -> WalletOut:
    """The wallet if the caller may see it; a foreign wallet is reported as missing."""
    row = await repository.find_wallet(conn, wallet_id=wallet_id, owner_scope=caller.owner_scope)
    if row is None:
        raise WalletNotFound()
    return _wallet_out(row, cipher)


async def list_wallets(
    conn: Connection,
    *,
    owner_id: str | None,
    caller: Principal,
    cipher: PiiCipher,
    cursor: str | None = None,
    limit: int = 50,
) -> WalletList:
    """An owner's wallets, a page at a time, by currency (an owner has one per currency)."""
    parts = decode_cursor(cursor, "wc", 1)
    scope = caller.owner_scope
    if scope is not None and owner_id not in (None, scope):
        return WalletList(items=[])  # another owner's wallets do not exist for this caller
    wanted_owner = owner_id or scope
    if wanted_owner is None:
        raise RequestValidationFailed(
            "owner_id is required",
            errors=[{"loc": ["query", "owner_id"], "message": "Field required"}],
        )
    rows = await repository.find_owner_wallets(
        conn, owner_id=wanted_owner, after_currency=parts[0] if parts else None, limit=limit + 1
    )
    items = [_wallet_out(row, cipher) for row in rows[:limit]]
    more = len(rows) > limit and items
    return WalletList(
        items=items, next_cursor=encode_cursor("wc", items[-1].currency) if more else None
    )

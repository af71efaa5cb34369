"""Transaction use cases: find one, search, a wallet's balance as of an instant.

Ownership is the wallets': a ``user`` sees a transaction only if it touched one of its own
wallets (else it does not exist for them), and then sees balances of its own wallets' entries
only (ledger.views).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import orjson

from wallet.auth.tokens import Principal
from wallet.db.pool import Connection
from wallet.errors import TransactionNotFound, WalletNotFound
from wallet.ledger.views import hide_counterparties
from wallet.paging import decode_timed_cursor, encode_timed_cursor
from wallet.transactions import repository
from wallet.transactions.repository import Filters, Found
from wallet.transactions.schemas import BalanceAt
from wallet.wallets.repository import find_owner_wallets, find_wallet

# Two walks, two cursor kinds: every journal by (created_at, journal id), or the entries of
# given wallets by (created_at, entry id).
_JOURNALS = "tj"
_ENTRIES = "te"


def _for_owner(body: str, own_wallets: set[str] | None) -> orjson.Fragment:
    if own_wallets is None:
        return orjson.Fragment(body)  # platform callers: the rendering as it is
    document = orjson.loads(body)
    hide_counterparties(document, own_wallets)
    return orjson.Fragment(orjson.dumps(document))


async def get_transaction(conn: Connection, *, transaction_id: UUID, caller: Principal) -> bytes:
    found = await repository.find_transaction(
        conn, transaction_id=transaction_id, owner_scope=caller.owner_scope
    )
    if found is None:
        raise TransactionNotFound()
    body, own = found
    if caller.owner_scope is None:
        return body.encode()
    document = orjson.loads(body)
    hide_counterparties(document, set(own))
    return orjson.dumps(document)


async def search(
    conn: Connection,
    *,
    caller: Principal,
    wallet_id: UUID | None,
    filters: Filters,
    cursor: str | None,
    limit: int,
) -> bytes:
    """A page ``{items, next_cursor}`` of matching transactions, newest first."""
    own: set[str] | None = None
    if caller.owner_scope is not None:
        owned = await find_owner_wallets(conn, owner_id=caller.owner_scope)
        own = {str(wallet["id"]) for wallet in owned}
    if wallet_id is not None:
        if await find_wallet(conn, wallet_id=wallet_id, owner_scope=caller.owner_scope) is None:
            raise WalletNotFound()
        wallet_ids = [wallet_id]
    elif own is not None:
        wallet_ids = [UUID(w) for w in sorted(own)]
    else:
        wallet_ids = []

    rows: list[Found]
    if wallet_ids:
        entry_position = _entry_cursor(cursor)
        rows = await repository.search_wallets(
            conn, wallet_ids=wallet_ids, filters=filters, before=entry_position, limit=limit + 1
        )
        kind = _ENTRIES
    elif own is not None:
        rows, kind = [], _ENTRIES  # a user without wallets: nothing touched them
    else:
        rows = await repository.search_journals(
            conn, filters=filters, before=_journal_cursor(cursor), limit=limit + 1
        )
        kind = _JOURNALS
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit and page:
        last = page[-1]
        next_cursor = encode_timed_cursor(kind, last.created_at, last.position)
    return orjson.dumps(
        {"items": [_for_owner(row.body, own) for row in page], "next_cursor": next_cursor}
    )


def _journal_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    return decode_timed_cursor(cursor, _JOURNALS, UUID)


def _entry_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    return decode_timed_cursor(cursor, _ENTRIES, int)


async def balance_at(
    conn: Connection, *, wallet_id: UUID, at: datetime, caller: Principal
) -> BalanceAt:
    if await find_wallet(conn, wallet_id=wallet_id, owner_scope=caller.owner_scope) is None:
        raise WalletNotFound()
    balance, held = await repository.balance_at(conn, wallet_id=wallet_id, at=at)
    return BalanceAt(
        wallet_id=wallet_id, at=at, balance=balance, held=held, available=balance - held
    )

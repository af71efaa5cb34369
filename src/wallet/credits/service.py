"""Promotional credit use cases: grant, list. Never commit: the route owns the transaction."""

from __future__ import annotations

from uuid import UUID

from uuid_utils.compat import uuid7

from wallet.auth.tokens import Principal
from wallet.credits import repository
from wallet.credits.schemas import CreditGrantList, CreditGrantOut, CreditGrantRequest
from wallet.db.pool import Connection
from wallet.errors import WalletNotFound
from wallet.ledger.core import JournalType, Leg, Posting, PostingContext, SystemKind
from wallet.ledger.cursor import decode_cursor, encode_cursor
from wallet.ledger.service import PostedTransaction, answer_from
from wallet.wallets.repository import find_wallet


def grant_posting(
    context: PostingContext, *, wallet_id: UUID, request: CreditGrantRequest
) -> Posting:
    """PROMOTIONS -> wallet, all of it promotional credit."""
    return Posting(
        context=context,
        journal_id=uuid7(),
        journal_type=JournalType.CREDIT_GRANT.value,
        event_type="credit.granted",
        wallet_id=wallet_id,
        amount=request.amount,
        legs=(
            Leg(wallet_id=wallet_id, amount=request.amount, promotional=request.amount),
            Leg(system_kind=SystemKind.PROMOTIONS, amount=-request.amount),
        ),
        reference_id=request.campaign,
        category=request.category,
        metadata={"expires_at": request.expires_at.isoformat()},
    )


async def grant(
    conn: Connection, *, context: PostingContext, wallet_id: UUID, request: CreditGrantRequest
) -> PostedTransaction:
    """Grant the credit (or replay the first answer: the grant as it is now)."""
    result = await repository.grant(
        conn,
        posting=grant_posting(context, wallet_id=wallet_id, request=request),
        expires_at=request.expires_at,
        category=request.category,
        campaign=request.campaign,
    )
    return answer_from(result, journal_type=JournalType.CREDIT_GRANT.value)


async def list_grants(
    conn: Connection, *, wallet_id: UUID, caller: Principal, cursor: str | None, limit: int
) -> CreditGrantList:
    if await find_wallet(conn, wallet_id=wallet_id, owner_scope=caller.owner_scope) is None:
        raise WalletNotFound()
    position = decode_cursor(cursor)
    before = UUID(int=position) if position is not None else None
    bodies = await repository.list_grants(conn, wallet_id=wallet_id, before=before, limit=limit + 1)
    items = [CreditGrantOut.model_validate_json(body) for body in bodies]
    has_more = len(items) > limit
    items = items[:limit]
    next_cursor = encode_cursor(items[-1].id.int) if has_more and items else None
    return CreditGrantList(items=items, next_cursor=next_cursor)

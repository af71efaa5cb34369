"""Refund a transfer or a capture, in one database call."""

from __future__ import annotations

from uuid import UUID

from wallet.db.pool import Connection
from wallet.ledger.calls import MoneyCall
from wallet.ledger.core import JournalType
from wallet.ledger.service import PostedTransaction, answer_from
from wallet.refunds import repository
from wallet.refunds.schemas import RefundCreate


async def refund_transaction(
    conn: Connection, *, call: MoneyCall, transaction_id: UUID, request: RefundCreate
) -> PostedTransaction:
    """Post a REFUND journal related to the original; see the package docstring for the rule."""
    result = await repository.create_refund(
        conn,
        call=call,
        transaction_id=transaction_id,
        amount=request.amount,
        reference_id=request.reference_id,
        metadata=request.metadata,
    )
    return answer_from(result, journal_type=JournalType.REFUND)

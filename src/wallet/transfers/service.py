"""Deposit, withdraw and transfer: build the posting, post it once."""

from __future__ import annotations

from uuid import UUID

from uuid_utils.compat import uuid7

from wallet.errors import RequestValidationFailed
from wallet.ledger import core
from wallet.ledger.core import JournalType, Leg, PostingContext
from wallet.ledger.service import LedgerTarget, PostedTransaction, post_one
from wallet.transfers.schemas import MovementRequest, TransferRequest


async def _post(
    ledger: LedgerTarget,
    *,
    context: PostingContext,
    journal_type: JournalType,
    wallet_id: UUID,
    request: MovementRequest | TransferRequest,
    amount: int,
    legs: tuple[Leg, ...],
) -> PostedTransaction:
    posting = core.Posting(
        context=context,
        journal_id=uuid7(),
        journal_type=journal_type.value,
        event_type=core.EVENT_TYPES[journal_type],
        wallet_id=wallet_id,
        amount=amount,
        legs=legs,
        reference_id=request.reference_id,
        category=request.category,
        metadata=request.metadata,
    )
    return await post_one(ledger, posting)


async def deposit(
    ledger: LedgerTarget, *, context: PostingContext, wallet_id: UUID, request: MovementRequest
) -> PostedTransaction:
    return await _post(
        ledger,
        context=context,
        journal_type=JournalType.DEPOSIT,
        wallet_id=wallet_id,
        request=request,
        amount=request.amount,
        legs=core.deposit_legs(wallet_id, request.amount),
    )


async def withdraw(
    ledger: LedgerTarget, *, context: PostingContext, wallet_id: UUID, request: MovementRequest
) -> PostedTransaction:
    return await _post(
        ledger,
        context=context,
        journal_type=JournalType.WITHDRAW,
        wallet_id=wallet_id,
        request=request,
        amount=request.amount,
        legs=core.withdraw_legs(wallet_id, request.amount),
    )


async def transfer(
    ledger: LedgerTarget, *, context: PostingContext, wallet_id: UUID, request: TransferRequest
) -> PostedTransaction:
    if request.amount is None:  # the schema asks for amount or quote_id; quotes go to fx
        raise RequestValidationFailed("amount is required without quote_id")
    return await _post(
        ledger,
        context=context,
        journal_type=JournalType.TRANSFER,
        wallet_id=wallet_id,
        request=request,
        amount=request.amount,
        legs=core.transfer_legs(wallet_id, request.to_wallet_id, request.amount),
    )

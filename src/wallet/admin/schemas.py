"""Admin request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field

from wallet.money import MAX_AMOUNT
from wallet.schemas import RequestModel

Reason = Annotated[str, Field(min_length=1, max_length=500, description="Why; recorded.")]


def _not_zero(amount: int) -> int:
    if amount == 0:
        raise ValueError("amount must not be zero")
    return amount


SignedAmount = Annotated[
    int,
    Field(
        strict=True,
        ge=-MAX_AMOUNT,
        le=MAX_AMOUNT,
        description="Signed, in minor units: positive credits the wallet, negative debits it.",
    ),
    AfterValidator(_not_zero),
]


class FindingAdjustmentRequest(RequestModel):
    """Correct a finding: the amount follows from it (balance_mismatch findings only)."""

    finding_id: UUID
    reason: Reason


class WalletAdjustmentRequest(RequestModel):
    """Move a user wallet's balance by a signed amount against the currency's SUSPENSE."""

    wallet_id: UUID
    amount: SignedAmount
    reason: Reason


AdjustmentRequest = FindingAdjustmentRequest | WalletAdjustmentRequest


class ReasonRequest(RequestModel):
    reason: Reason


class CreditLimitRequest(RequestModel):
    """How far below zero the wallet's available may go, in minor units (0: never)."""

    credit_limit: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)]
    reason: Reason


class ApprovalRequest(RequestModel):
    reason: Reason | None = None


class AdjustmentOut(BaseModel):
    id: UUID
    kind: str = Field(description="ADJUSTMENT or REVERSAL")
    method: str = Field(description="ALIGN_ENTRIES, MOVE_BALANCE or REVERSE_JOURNAL")
    status: str = Field(description="PENDING, APPLIED or REJECTED")
    wallet_id: UUID
    currency: str
    amount: int = Field(description="Signed change of the wallet's ledger.")
    finding_id: UUID | None
    transaction_id: UUID | None = Field(description="The transaction a REVERSAL undoes.")
    applied_transaction_id: UUID | None
    reason: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    trace_id: str


class AdjustmentList(BaseModel):
    items: list[AdjustmentOut]
    next_cursor: str | None = None

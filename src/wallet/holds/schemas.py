"""Hold request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, StrictBool, model_validator

from wallet.ledger.schemas import TransactionOut
from wallet.money import MAX_AMOUNT
from wallet.schemas import Amount, Metadata, ReferenceId, RequestModel

HoldStatus = Literal["HELD", "CAPTURED", "RELEASED", "EXPIRED"]
MAX_SPLITS = 16

TtlSeconds = Annotated[
    int,
    Field(
        strict=True, ge=1, description="Seconds until the hold expires; capped by configuration."
    ),
]


class HoldCreate(RequestModel):
    """Reserve ``amount`` of the wallet's available balance for a ride (or anything else)."""

    amount: Amount
    ttl_seconds: TtlSeconds | None = None
    reference_type: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    reference_id: ReferenceId | None = None
    metadata: Metadata = Field(default_factory=dict)


class Split(RequestModel):
    """One recipient's share of a capture; no ``to_wallet_id`` means the settlement wallet."""

    to_wallet_id: UUID | None = None
    amount: Amount


class HoldCapture(RequestModel):
    """Capture from a hold: ``amount`` (default: all that remains) to one recipient, or
    ``splits`` to several in one journal. ``final`` releases whatever is left."""

    amount: Amount | None = None
    to_wallet_id: UUID | None = None
    splits: Annotated[list[Split], Field(min_length=1, max_length=MAX_SPLITS)] | None = None
    final: StrictBool = False

    @model_validator(mode="after")
    def _one_way_to_pay(self) -> HoldCapture:
        if self.splits is None:
            return self
        if self.to_wallet_id is not None:
            raise ValueError("give either to_wallet_id or splits, not both")
        recipients = [split.to_wallet_id for split in self.splits]
        if len(set(recipients)) != len(recipients):
            raise ValueError("each recipient may appear once in splits")
        total = sum(split.amount for split in self.splits)
        if total > MAX_AMOUNT:
            raise ValueError("splits add up to more than the largest amount")
        if self.amount is not None and self.amount != total:
            raise ValueError("amount must equal the sum of splits")
        return self


class HoldAdjust(RequestModel):
    """Re-authorise: a new total ``amount`` for the hold and/or a new ``expires_at``."""

    amount: Amount | None = None
    expires_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> HoldAdjust:
        if self.amount is None and self.expires_at is None:
            raise ValueError("give amount, expires_at or both")
        return self


class HoldRelease(RequestModel):
    reason: Annotated[str, Field(min_length=1, max_length=256)] | None = None


class HoldOut(BaseModel):
    """A hold. ``remaining`` is what it still reserves: amount - captured while HELD, else 0."""

    id: UUID
    wallet_id: UUID
    currency: str
    amount: int
    captured: int
    remaining: int
    status: HoldStatus
    expires_at: datetime
    reference_type: str | None
    reference_id: str | None
    metadata: dict[str, Any]
    release_reason: str | None
    trace_id: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class CaptureOut(TransactionOut):
    """The capture's transaction, with the hold as the capture left it."""

    hold: HoldOut


class HoldPage(BaseModel):
    items: list[HoldOut]
    next_cursor: str | None

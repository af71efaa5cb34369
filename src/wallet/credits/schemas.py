"""Promotional credit request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from wallet.schemas import Amount, RequestModel

CreditCategory = Literal["VOUCHER", "PROMOTION", "GIFT"]


class CreditGrantRequest(RequestModel):
    """Grant ``amount`` of promotional credit from the currency's PROMOTIONS wallet."""

    amount: Amount
    expires_at: AwareDatetime
    category: CreditCategory
    campaign: Annotated[str, Field(min_length=1, max_length=128)] | None = None


class CreditGrantOut(BaseModel):
    id: UUID
    wallet_id: UUID
    currency: str
    amount: int
    remaining: int
    category: CreditCategory
    campaign: str | None
    expires_at: datetime
    status: Literal["ACTIVE", "SPENT", "EXPIRED"]
    created_at: datetime


class CreditGrantList(BaseModel):
    items: list[CreditGrantOut]
    next_cursor: str | None = None

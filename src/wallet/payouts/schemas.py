"""Payout run request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from wallet.schemas import RequestModel
from wallet.wallets.schemas import CurrencyCode


class PayoutRunRequest(RequestModel):
    """Pay out every driver wallet of ``currency`` whose withdrawable balance is above
    ``threshold``, chosen by ``owner_prefix`` and/or ``wallet_ids``."""

    currency: CurrencyCode
    threshold: Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)]
    owner_prefix: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    wallet_ids: Annotated[list[UUID], Field(max_length=10_000)] | None = None


class PayoutCounts(BaseModel):
    PENDING: int = 0
    SENT: int = 0
    PAID: int = 0
    FAILED: int = 0


class PayoutRunOut(BaseModel):
    id: UUID
    currency: str
    threshold: int
    owner_prefix: str | None
    created_at: datetime
    status: str = Field(description="OPEN while a payout is PENDING or SENT, else DONE.")
    payouts: PayoutCounts
    totals: PayoutCounts

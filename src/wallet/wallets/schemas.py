"""Wallet request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field

from wallet.money import is_wallet_currency
from wallet.schemas import Metadata, RequestModel


def _known_currency(code: str) -> str:
    if not is_wallet_currency(code):
        raise ValueError(f"{code!r} is not an ISO 4217 currency with minor units")
    return code


def _not_system_owner(owner_id: str) -> str:
    # System wallets are the books' own; no client may pose as their owner.
    if owner_id.startswith("system:"):
        raise ValueError("owner_id may not start with 'system:'")
    return owner_id


OwnerId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:@\-]+$",
        description="The owner's id in the calling platform (not starting with 'system:').",
    ),
    AfterValidator(_not_system_owner),
]
CurrencyCode = Annotated[
    str,
    Field(min_length=3, max_length=3, examples=["USD"]),
    AfterValidator(_known_currency),
]


class WalletCreate(RequestModel):
    owner_id: OwnerId
    currency: CurrencyCode
    metadata: Metadata = Field(default_factory=dict)


class WalletOut(BaseModel):
    id: UUID
    owner_id: str
    currency: str
    balance: int
    held: int
    available: int
    promotional: int = Field(description="The part of balance that is promotional credit.")
    withdrawable: int = Field(description="What may leave as cash (withdrawals, other owners).")
    credit_limit: int = Field(
        description="How far below zero available may go (0: never below zero)."
    )
    status: str
    version: int
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class WalletList(BaseModel):
    items: list[WalletOut]
    next_cursor: str | None = None

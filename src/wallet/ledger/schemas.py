"""Ledger response bodies: transactions (journals) and a wallet's entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

# Present on the caller's own wallet's entries; a `user` caller never sees them on another
# owner's wallet (ledger.views). Never null when present, so null stays out of the schema.
_OwnOnly = int | SkipJsonSchema[None]
_OWN_ONLY = "Absent on entries of wallets a `user` caller does not own."


class EntryOut(BaseModel):
    wallet_id: UUID
    amount: int
    balance_before: _OwnOnly = Field(default=None, description=_OWN_ONLY)
    balance_after: _OwnOnly = Field(default=None, description=_OWN_ONLY)
    held_before: _OwnOnly = Field(default=None, description=_OWN_ONLY)
    held_after: _OwnOnly = Field(default=None, description=_OWN_ONLY)


class TransactionOut(BaseModel):
    """A journal: the money movement and its entries, which sum to zero."""

    id: UUID
    type: str
    status: str
    amount: int
    currency: str
    wallet_id: UUID
    entries: list[EntryOut]
    reference_id: str | None
    category: str | None
    metadata: dict[str, Any]
    hold_id: UUID | None
    related_transaction_id: UUID | None
    trace_id: str
    created_at: datetime


class LedgerItem(BaseModel):
    """One entry of a wallet's ledger, with what its journal was."""

    id: int
    transaction_id: UUID
    type: str
    amount: int
    currency: str
    balance_before: int
    balance_after: int
    held_before: int
    held_after: int
    reference_id: str | None
    category: str | None
    hold_id: UUID | None
    trace_id: str
    created_at: datetime


class LedgerPage(BaseModel):
    items: list[LedgerItem]
    next_cursor: str | None

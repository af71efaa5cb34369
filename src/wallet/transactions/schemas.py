"""Transaction lookup and search, and balance-at, response bodies."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from wallet.ledger.schemas import TransactionOut


class TransactionPage(BaseModel):
    items: list[TransactionOut]
    next_cursor: str | None


class BalanceAt(BaseModel):
    """What the wallet held as of ``at``: from the latest entry at or before it."""

    wallet_id: UUID
    at: datetime
    balance: int
    held: int
    available: int

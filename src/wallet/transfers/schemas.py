"""Request bodies of money movements."""

from __future__ import annotations

from typing import Self
from uuid import UUID

from pydantic import Field, model_validator

from wallet.schemas import Amount, Category, Metadata, ReferenceId, RequestModel


class MovementRequest(RequestModel):
    """Deposit or withdraw: money between the wallet and the world outside."""

    amount: Amount
    reference_id: ReferenceId | None = None
    category: Category | None = None
    metadata: Metadata = Field(default_factory=dict)


class TransferRequest(RequestModel):
    """Move money from the path's wallet to another wallet: of the same currency with
    ``amount``, or of another currency with ``quote_id`` (from ``POST /v1/fx/quotes``; its
    sell amount is the amount, and ``amount``, if given, must equal it)."""

    to_wallet_id: UUID
    amount: Amount | None = None
    quote_id: UUID | None = None
    reference_id: ReferenceId | None = None
    category: Category | None = None
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="after")
    def _amount_or_quote(self) -> Self:
        if self.amount is None and self.quote_id is None:
            raise ValueError("give amount (same currency) or quote_id (across currencies)")
        return self

"""Request bodies of money movements."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from wallet.schemas import Amount, Category, Metadata, ReferenceId, RequestModel


class MovementRequest(RequestModel):
    """Deposit or withdraw: money between the wallet and the world outside."""

    amount: Amount
    reference_id: ReferenceId | None = None
    category: Category | None = None
    metadata: Metadata = Field(default_factory=dict)


class TransferRequest(MovementRequest):
    """Move money from the path's wallet to another wallet of the same currency."""

    to_wallet_id: UUID

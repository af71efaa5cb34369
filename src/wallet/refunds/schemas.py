"""Refund request body."""

from __future__ import annotations

from pydantic import Field

from wallet.schemas import Amount, Metadata, ReferenceId, RequestModel


class RefundCreate(RequestModel):
    """Refund ``amount`` (default: all that is left to refund) of a transfer or capture."""

    amount: Amount | None = None
    reference_id: ReferenceId | None = None
    metadata: Metadata = Field(default_factory=dict)

"""Field types shared by every domain's request schemas."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from wallet.money import MAX_AMOUNT

MAX_METADATA_BYTES = 4096


class RequestModel(BaseModel):
    """Request bodies: unknown fields are refused; amounts are never coerced (see Amount)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _bounded_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(orjson.dumps(value)) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must serialise to at most {MAX_METADATA_BYTES} bytes")
    return value


Amount = Annotated[
    int,
    Field(strict=True, gt=0, le=MAX_AMOUNT, description="Positive integer, in minor units."),
]
Metadata = Annotated[dict[str, Any], AfterValidator(_bounded_metadata)]
ReferenceId = Annotated[str, Field(min_length=1, max_length=128)]
Category = Literal[
    "RIDE", "VOUCHER", "TOPUP", "GIFT", "PAYOUT", "REFUND", "CANCELLATION", "PROMOTION", "OTHER"
]

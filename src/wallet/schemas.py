"""Field types shared by every domain's request schemas."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from wallet.money import MAX_AMOUNT

MAX_METADATA_BYTES = 4096


class RequestModel(BaseModel):
    """Request bodies: unknown fields are refused; amounts are never coerced (see Amount);
    nothing that PostgreSQL or the JSON encoder cannot store gets past validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Fields whose values are request models themselves (a batch's items), which check their
    # own content: walking them here as well checked every item of a batch twice.
    self_checked_fields: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if cls.self_checked_fields and isinstance(data, dict):
            rest = {k: v for k, v in data.items() if k not in cls.self_checked_fields}
            _check_storable(rest, depth=0)
        else:
            _check_storable(data, depth=0)
        return data


MAX_NESTING = 32
_JSON_INTEGERS = range(-(2**63), 2**64)  # what the JSON encoder writes (i64 and u64)


def _check_storable(value: Any, *, depth: int) -> None:
    """Refuse, anywhere in a body, what would otherwise fail deep in the stack as a 500:
    NUL characters (PostgreSQL text cannot hold them), unpaired surrogates (not UTF-8),
    integers beyond 64 bits (not encodable), and absurd nesting."""
    if depth > MAX_NESTING:
        raise ValueError(f"nested deeper than {MAX_NESTING} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text may not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("text must be valid Unicode (no unpaired surrogates)") from exc
    elif isinstance(value, int) and not isinstance(value, bool):
        if value not in _JSON_INTEGERS:
            raise ValueError("integers must fit in 64 bits")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, depth=depth + 1)
            _check_storable(item, depth=depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item, depth=depth + 1)


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

"""The Idempotency-Key header, required on money-moving requests."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header

from wallet.errors import IdempotencyKeyRequired, RequestValidationFailed

_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft allows


async def required_idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Unique per logical request; retries reuse it. Kept for 24 h.",
        ),
    ] = None,
) -> str:
    return checked_idempotency_key(idempotency_key)


def checked_idempotency_key(idempotency_key: str | None) -> str:
    """The key if it is present and well formed; else the error the client is answered."""
    if idempotency_key is None or idempotency_key == "":
        raise IdempotencyKeyRequired()
    if not _KEY_PATTERN.match(idempotency_key):
        raise RequestValidationFailed(
            "Idempotency-Key must be 1-255 visible ASCII characters",
            errors=[{"loc": ["header", "Idempotency-Key"], "message": "invalid key"}],
        )
    return idempotency_key


IdempotencyKey = Annotated[str, Depends(required_idempotency_key)]

"""The payment rail: outside the system, reached over HTTP (DESIGN: WALLET_PAYOUT_RAIL_URL).

The service POSTs ``{payout_id, wallet_id, owner_id, amount, currency}`` with
``Idempotency-Key: <payout_id>`` and reads ``{"status": "PAID"}`` or ``{"status": "FAILED",
"reason": ...}``. Anything else, or a timeout, is UNKNOWN: the payout stays SENT and is asked
again later with the same key, so the rail pays it at most once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol
from uuid import UUID

import httpx


@dataclass(frozen=True, slots=True)
class PayoutInstruction:
    payout_id: UUID
    wallet_id: UUID
    owner_id: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class RailAnswer:
    status: Literal["PAID", "FAILED", "UNKNOWN"]
    reason: str | None = None


class PayoutRail(Protocol):
    async def send(self, instruction: PayoutInstruction) -> RailAnswer: ...


class HttpRail:
    """The rail of DESIGN.md over HTTP."""

    def __init__(self, url: str, *, timeout_seconds: float = 10.0) -> None:
        self._url = url
        self._timeout = timeout_seconds

    async def send(self, instruction: PayoutInstruction) -> RailAnswer:
        body = {
            "payout_id": str(instruction.payout_id),
            "wallet_id": str(instruction.wallet_id),
            "owner_id": instruction.owner_id,
            "amount": instruction.amount,
            "currency": instruction.currency,
        }
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(
                    self._url,
                    json=body,
                    headers={"Idempotency-Key": str(instruction.payout_id)},
                )
            answer = response.json() if response.status_code < 500 else None
        except (httpx.HTTPError, ValueError):
            return RailAnswer("UNKNOWN")
        return parse_answer(answer)


def parse_answer(answer: object) -> RailAnswer:
    """Only an exact PAID or FAILED settles a payout; anything else is asked again later."""
    if isinstance(answer, dict):
        if answer.get("status") == "PAID":
            return RailAnswer("PAID")
        if answer.get("status") == "FAILED":
            reason = answer.get("reason")
            return RailAnswer("FAILED", str(reason) if reason is not None else None)
    return RailAnswer("UNKNOWN")

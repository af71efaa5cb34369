"""An in-memory model of wallets, holds and refunds, built from the pure rules in
``wallet.ledger.core``, for the stateful test to hold the API against.

Each operation returns what the API should answer, ``(status, code)``, and changes the model
only when the API should succeed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from wallet.ledger.core import (
    CaptureShare,
    Leg,
    allocate_refund,
    capture_legs,
    capture_released,
    hold_adjust_legs,
    hold_legs,
    hold_release_legs,
    refund_legs,
)

Expect = tuple[int, str | None]
OK_CREATED: Expect = (201, None)
OK: Expect = (200, None)


@dataclass
class ModelHold:
    wallet_id: UUID
    amount: int
    captured: int = 0
    status: str = "HELD"

    @property
    def remaining(self) -> int:
        return self.amount - self.captured if self.status == "HELD" else 0


@dataclass
class Model:
    settlement_id: UUID
    balances: dict[UUID, int]
    held: dict[UUID, int] = field(default_factory=dict)
    holds: dict[str, ModelHold] = field(default_factory=dict)
    # Refundable journals: the payer, and what each recipient still has unrefunded.
    refundable: dict[str, tuple[UUID, dict[UUID, int]]] = field(default_factory=dict)

    @staticmethod
    def new_hold(wallet_id: UUID, amount: int) -> ModelHold:
        return ModelHold(wallet_id=wallet_id, amount=amount)

    def available(self, wallet_id: UUID) -> int:
        return self.balances[wallet_id] - self.held.get(wallet_id, 0)

    def _apply(self, legs: tuple[Leg, ...]) -> None:
        for leg in legs:
            wallet_id = leg.wallet_id or self.settlement_id
            self.balances[wallet_id] += leg.amount
            self.held[wallet_id] = self.held.get(wallet_id, 0) + leg.held_delta

    def deposit(self, wallet_id: UUID, amount: int) -> Expect:
        self.balances[wallet_id] += amount
        return OK_CREATED

    def transfer(self, source: UUID, destination: UUID, amount: int) -> Expect:
        if self.available(source) < amount:
            return (422, "insufficient_funds")
        self.balances[source] -= amount
        self.balances[destination] += amount
        return OK_CREATED

    def create_hold(self, wallet_id: UUID, amount: int) -> Expect:
        if self.available(wallet_id) < amount:
            return (422, "insufficient_funds")
        self._apply(hold_legs(wallet_id, amount))
        return OK_CREATED

    def adjust(self, hold: ModelHold, amount: int) -> Expect:
        change = amount - hold.amount
        if hold.status != "HELD":
            return (409, "hold_not_active")
        if amount <= hold.captured:
            return (422, "hold_amount_below_captured")
        if change > 0 and self.available(hold.wallet_id) < change:
            return (422, "insufficient_funds")
        self._apply(hold_adjust_legs(hold.wallet_id, change))
        hold.amount = amount
        return OK

    def capture(self, hold: ModelHold, shares: tuple[CaptureShare, ...], final: bool) -> Expect:
        if hold.status != "HELD":
            return (409, "hold_not_active")
        total = sum(share.amount for share in shares)
        if total > hold.remaining:
            return (422, "hold_exceeded")
        released = capture_released(remaining=hold.remaining, captured=total, final=final)
        self._apply(capture_legs(hold.wallet_id, shares, released=released))
        hold.captured += total
        if final or hold.captured == hold.amount:
            hold.status = "CAPTURED"
        return OK_CREATED

    def close(self, hold: ModelHold, status: str) -> Expect:
        """Release (status RELEASED) or expire (EXPIRED) what the hold still reserves."""
        if hold.status == "CAPTURED":
            return (409, "hold_not_active")
        if hold.status == "HELD":
            self._apply(hold_release_legs(hold.wallet_id, hold.remaining))
            hold.status = status
        return OK

    def record_refundable(self, journal_id: str, payer: UUID, received: dict[UUID, int]) -> None:
        self.refundable[journal_id] = (payer, dict(received))

    def refund(self, journal_id: str, amount: int | None) -> tuple[Expect, dict[UUID, int]]:
        payer, unrefunded = self.refundable[journal_id]
        left = sum(unrefunded.values())
        wanted = left if amount is None else amount
        if left == 0 or wanted > left:
            return (422, "refund_exceeded"), {}
        taken = allocate_refund(wanted, unrefunded)
        if any(
            self.available(wallet_id) < share
            for wallet_id, share in taken.items()
            if wallet_id != self.settlement_id
        ):
            return (422, "insufficient_funds"), {}
        self._apply(refund_legs(payer, taken))
        for wallet_id, share in taken.items():
            unrefunded[wallet_id] -= share
        return OK_CREATED, {payer: wanted, **{w: -share for w, share in taken.items()}}

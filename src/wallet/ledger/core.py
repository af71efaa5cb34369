"""Pure ledger rules: build and check postings from plain values. No I/O.

A posting is one journal: a set of legs, each the change of one wallet's balance and held
amount. Money enters and leaves the books through the currency's system wallets, so the legs
of every posting sum to zero.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

import orjson

from wallet.errors import SameWallet


class SystemKind(StrEnum):
    """The books' own wallets, one of each per currency, created on first use."""

    EXTERNAL = "EXTERNAL"  # the world outside: money deposited comes from here
    SETTLEMENT = "SETTLEMENT"  # captured ride money awaiting payout
    FEES = "FEES"
    SUSPENSE = "SUSPENSE"  # discrepancies under investigation
    PROMOTIONS = "PROMOTIONS"  # promotional credit granted comes from here; breakage returns
    FX = "FX"  # currency exchange: one per currency, its balances are the FX position
    PAYOUTS = "PAYOUTS"  # payouts on their way to a payment rail


class JournalType(StrEnum):
    DEPOSIT = "DEPOSIT"
    WITHDRAW = "WITHDRAW"
    TRANSFER = "TRANSFER"
    # Holds and refunds: written by the SQL functions of migrations/0002.
    HOLD = "HOLD"
    HOLD_ADJUST = "HOLD_ADJUST"
    CAPTURE = "CAPTURE"
    HOLD_RELEASE = "HOLD_RELEASE"
    HOLD_EXPIRE = "HOLD_EXPIRE"
    REFUND = "REFUND"
    ADJUSTMENT = "ADJUSTMENT"  # an approved correction against the SUSPENSE wallet
    REVERSAL = "REVERSAL"  # an approved undoing of an earlier journal
    CREDIT_GRANT = "CREDIT_GRANT"  # promotional credit from PROMOTIONS (credits/)
    BREAKAGE = "BREAKAGE"  # an expired grant's remaining back to PROMOTIONS
    FX_TRANSFER = "FX_TRANSFER"  # between wallets of two currencies, through FX wallets
    PAYOUT = "PAYOUT"  # a driver's payout: wallet -> PAYOUTS (cash only)
    PAYOUT_PAID = "PAYOUT_PAID"  # PAYOUTS -> EXTERNAL, the rail paid it
    PAYOUT_FAILED = "PAYOUT_FAILED"  # PAYOUTS -> wallet, the rail refused it


EVENT_TYPES: dict[JournalType, str] = {
    JournalType.DEPOSIT: "wallet.deposit.completed",
    JournalType.WITHDRAW: "wallet.withdraw.completed",
    JournalType.TRANSFER: "wallet.transfer.completed",
    JournalType.HOLD: "hold.created",
    JournalType.HOLD_ADJUST: "hold.adjusted",
    JournalType.CAPTURE: "hold.captured",
    JournalType.HOLD_RELEASE: "hold.released",
    JournalType.HOLD_EXPIRE: "hold.expired",
    JournalType.REFUND: "refund.completed",
    JournalType.ADJUSTMENT: "wallet.adjustment.completed",
    JournalType.REVERSAL: "wallet.reversal.completed",
    JournalType.CREDIT_GRANT: "credit.granted",
    JournalType.BREAKAGE: "credit.expired",
    JournalType.FX_TRANSFER: "wallet.fx_transfer.completed",
    JournalType.PAYOUT: "payout.pending",
    JournalType.PAYOUT_PAID: "payout.paid",
    JournalType.PAYOUT_FAILED: "payout.failed",
}


@dataclass(frozen=True, slots=True)
class Leg:
    """One wallet's change: a wallet by id, or a system wallet by kind (same currency)."""

    amount: int
    held_delta: int = 0
    wallet_id: UUID | None = None
    system_kind: SystemKind | None = None
    # A user wallet's promotional change asked for: > 0 part of a credit is promotional (a
    # grant), < 0 a debit takes promotional credit (expiry); None: the engine spends it first.
    promotional: int | None = None
    # The leg's currency when it is not the posting's (an exchange's other side): a system
    # wallet by kind is then that currency's, a named wallet must be in it.
    currency: str | None = None

    def __post_init__(self) -> None:
        if (self.wallet_id is None) == (self.system_kind is None):
            raise ValueError("a leg names either a wallet or a system kind")


@dataclass(frozen=True, slots=True)
class PostingContext:
    """Who asked, under which key and trace: the same for every posting of a request."""

    caller: str
    idempotency_key: str | None
    fingerprint: str
    trace_id: str
    required_owner: str | None = None
    client_address: str | None = None  # for the audit trail
    traceparent: str | None = None  # W3C trace context, carried into the events


@dataclass(frozen=True, slots=True)
class Posting:
    context: PostingContext
    journal_id: UUID
    journal_type: str
    event_type: str
    wallet_id: UUID
    amount: int
    legs: tuple[Leg, ...]
    reference_id: str | None = None
    category: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    hold_id: UUID | None = None
    related_journal_id: UUID | None = None

    def __post_init__(self) -> None:
        check_balanced(self.legs)


def check_balanced(legs: tuple[Leg, ...]) -> None:
    """Refuse a set of legs that would create or destroy money, in any currency (a leg
    without one is in the posting's)."""
    if not legs:
        raise ValueError("a posting needs at least one leg")
    totals: dict[str | None, int] = {}
    for leg in legs:
        totals[leg.currency] = totals.get(leg.currency, 0) + leg.amount
    for currency, total in totals.items():
        if total != 0:
            raise ValueError(
                f"legs sum to {total}, not zero" + (f" in {currency}" if currency else "")
            )


def deposit_legs(wallet_id: UUID, amount: int) -> tuple[Leg, ...]:
    return (
        Leg(wallet_id=wallet_id, amount=amount),
        Leg(system_kind=SystemKind.EXTERNAL, amount=-amount),
    )


def withdraw_legs(wallet_id: UUID, amount: int) -> tuple[Leg, ...]:
    return (
        Leg(wallet_id=wallet_id, amount=-amount),
        Leg(system_kind=SystemKind.EXTERNAL, amount=amount),
    )


def transfer_legs(source_id: UUID, destination_id: UUID, amount: int) -> tuple[Leg, ...]:
    if source_id == destination_id:
        raise SameWallet()
    return (
        Leg(wallet_id=source_id, amount=-amount),
        Leg(wallet_id=destination_id, amount=amount),
    )


# --- Holds, captures and refunds ---------------------------------------------------
# The SQL functions in migrations/0002.holds.sql apply these rules in the database, so that
# each request is one round trip; these pure versions state them, are unit-tested, and drive
# the in-memory model that the stateful test compares the API against.


def hold_legs(wallet_id: UUID, amount: int) -> tuple[Leg, ...]:
    """Reserve ``amount``: no money moves, the wallet's held grows."""
    return (Leg(wallet_id=wallet_id, amount=0, held_delta=amount),)


def hold_adjust_legs(wallet_id: UUID, change: int) -> tuple[Leg, ...]:
    """Re-authorise: held moves by the (signed) change of the hold's amount."""
    return (Leg(wallet_id=wallet_id, amount=0, held_delta=change),)


def hold_release_legs(wallet_id: UUID, remaining: int) -> tuple[Leg, ...]:
    """Release or expire: what the hold still reserves goes back to available."""
    return (Leg(wallet_id=wallet_id, amount=0, held_delta=-remaining),)


@dataclass(frozen=True, slots=True)
class CaptureShare:
    """One recipient of a capture; no wallet id means the currency's settlement wallet."""

    amount: int
    wallet_id: UUID | None = None


def capture_released(*, remaining: int, captured: int, final: bool) -> int:
    """What a capture gives back to available: the rest of the hold when it is final."""
    if not 0 < captured <= remaining:
        raise ValueError("a capture takes more than nothing and at most what remains")
    return remaining - captured if final else 0


def capture_legs(
    payer_id: UUID, shares: tuple[CaptureShare, ...], *, released: int
) -> tuple[Leg, ...]:
    """One journal for a capture: the payer's balance and held drop by the captured total
    (held also by what is released), each recipient is credited its share."""
    if not shares:
        raise ValueError("a capture needs at least one recipient")
    if any(share.wallet_id == payer_id for share in shares):
        raise SameWallet()
    total = sum(share.amount for share in shares)
    recipients = tuple(
        Leg(wallet_id=share.wallet_id, amount=share.amount)
        if share.wallet_id is not None
        else Leg(system_kind=SystemKind.SETTLEMENT, amount=share.amount)
        for share in shares
    )
    return (Leg(wallet_id=payer_id, amount=-total, held_delta=-(total + released)), *recipients)


def allocate_refund(amount: int, unrefunded: Mapping[UUID, int]) -> dict[UUID, int]:
    """How much of a refund each recipient of the original gives back.

    Pro rata to what each still has unrefunded; the minor units that floor division leaves
    over go to the largest remainders, ties to the lower wallet id. Each share is at most
    what that recipient has unrefunded, so refunding the rest returns exactly what each got.
    """
    refundable = sum(unrefunded.values())
    if not 0 < amount <= refundable:
        raise ValueError("a refund is more than nothing and at most what is refundable")
    exact = {
        wallet_id: divmod(amount * share, refundable)
        for wallet_id, share in unrefunded.items()
        if share > 0
    }
    leftover = amount - sum(base for base, _ in exact.values())
    by_remainder = sorted(exact, key=lambda wallet_id: (-exact[wallet_id][1], wallet_id))
    bonus = set(by_remainder[:leftover])
    taken = {
        wallet_id: base + (1 if wallet_id in bonus else 0) for wallet_id, (base, _) in exact.items()
    }
    return {wallet_id: share for wallet_id, share in taken.items() if share > 0}


def refund_legs(payer_id: UUID, taken: Mapping[UUID, int]) -> tuple[Leg, ...]:
    """The payer of the original gets the refund back from the recipients' shares."""
    total = sum(taken.values())
    return (
        Leg(wallet_id=payer_id, amount=total),
        *(Leg(wallet_id=wallet_id, amount=-share) for wallet_id, share in sorted(taken.items())),
    )


def adjustment_legs(wallet_id: UUID, amount: int) -> tuple[Leg, ...]:
    """Move the wallet's balance by signed ``amount``; SUSPENSE carries the other side."""
    if amount == 0:
        raise ValueError("an adjustment moves a non-zero amount")
    return (
        Leg(wallet_id=wallet_id, amount=amount),
        Leg(system_kind=SystemKind.SUSPENSE, amount=-amount),
    )


def reversal_legs(original: Sequence[tuple[UUID, str, int]]) -> tuple[Leg, ...]:
    """Undo a journal: each wallet's entry of ``original`` (wallet id, wallet kind, amount),
    negated. System wallets are addressed by kind, as every posting must.

    Only balance changes are reversed; a journal that moved held amounts belongs to a hold,
    whose own state would no longer match, so it cannot be reversed this way.
    """
    legs = tuple(
        Leg(wallet_id=wallet_id, amount=-amount)
        if kind == "USER"
        else Leg(system_kind=SystemKind(kind), amount=-amount)
        for wallet_id, kind, amount in original
    )
    check_balanced(legs)
    return legs


def request_fingerprint(*, method: str, path: str, body: dict[str, Any]) -> str:
    """A stable digest of what was asked, to tell a retry from a different request."""
    canonical = orjson.dumps(
        {"method": method, "path": path, "body": body}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()

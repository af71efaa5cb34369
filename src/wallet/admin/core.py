"""Pure rules of admin operations: wallet status changes and the four-eyes decision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from wallet.errors import (
    AdjustmentAlreadyDecided,
    FourEyesRequired,
    TransactionNotReversible,
    WalletNotActive,
    WalletNotEmpty,
)
from wallet.ledger.core import JournalType, Leg, reversal_legs


@dataclass(frozen=True, slots=True)
class ReversedEntry:
    """One entry of a journal to reverse."""

    wallet_id: UUID
    wallet_kind: str  # USER, or the system kind it is addressed by
    amount: int
    held_change: int


class WalletAction(StrEnum):
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    CLOSE = "close"


WALLET_ACTION_EVENTS: dict[WalletAction, str] = {
    WalletAction.FREEZE: "wallet.frozen",
    WalletAction.UNFREEZE: "wallet.unfrozen",
    WalletAction.CLOSE: "wallet.closed",
}


class AdjustmentStatus(StrEnum):
    PENDING = "PENDING"
    APPLIED = "APPLIED"
    REJECTED = "REJECTED"


class AdjustmentMethod(StrEnum):
    ALIGN_ENTRIES = "ALIGN_ENTRIES"  # entries catch up with the stored balance
    MOVE_BALANCE = "MOVE_BALANCE"  # the balance moves, against SUSPENSE
    REVERSE_JOURNAL = "REVERSE_JOURNAL"


def next_status(action: WalletAction, *, status: str, balance: int, held: int) -> str | None:
    """The wallet's status after ``action``, or None when it is already there (a no-op).

    FROZEN stops outgoing money; CLOSED is final and needs an empty wallet.
    """
    if status == "CLOSED":
        if action is WalletAction.CLOSE:
            return None
        raise WalletNotActive("The wallet is closed; closing is final")
    if action is WalletAction.FREEZE:
        return None if status == "FROZEN" else "FROZEN"
    if action is WalletAction.UNFREEZE:
        return None if status == "ACTIVE" else "ACTIVE"
    if balance != 0 or held != 0:
        raise WalletNotEmpty(f"balance is {balance} and held is {held}")
    return "CLOSED"


def should_apply(*, status: str, proposed_by: str, approver: str) -> bool:
    """Whether an approval applies the proposal now (False: it was already applied).

    The proposer may never approve; a rejected proposal stays rejected.
    """
    if approver == proposed_by:
        raise FourEyesRequired("The proposer cannot approve their own proposal")
    if status == AdjustmentStatus.REJECTED:
        raise AdjustmentAlreadyDecided("The proposal was rejected")
    return status == AdjustmentStatus.PENDING


def should_reject(*, status: str) -> bool:
    """Whether a rejection changes anything (False: already rejected)."""
    if status == AdjustmentStatus.APPLIED:
        raise AdjustmentAlreadyDecided("The proposal was already applied")
    return status == AdjustmentStatus.PENDING


def plan_reversal(
    *, journal_type: str, hold_id: UUID | None, entries: Sequence[ReversedEntry]
) -> tuple[Leg, ...]:
    """The legs undoing a journal, given its entries.

    Corrections are corrected by a new adjustment, not reversed; hold journals are not
    reversible because the hold's own state would no longer match.
    """
    if journal_type in (JournalType.ADJUSTMENT, JournalType.REVERSAL):
        raise TransactionNotReversible(f"A {journal_type} is corrected by a new adjustment")
    if hold_id is not None or any(entry.held_change != 0 for entry in entries):
        raise TransactionNotReversible("Transactions of a hold cannot be reversed")
    if not any(entry.amount != 0 for entry in entries):
        raise TransactionNotReversible("The transaction moved no money")
    return reversal_legs([(entry.wallet_id, entry.wallet_kind, entry.amount) for entry in entries])

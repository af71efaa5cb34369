"""Pure admin rules: status transitions, four eyes, what can be reversed."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from wallet.admin.core import (
    ReversedEntry,
    WalletAction,
    next_status,
    plan_reversal,
    should_apply,
    should_reject,
)
from wallet.errors import (
    AdjustmentAlreadyDecided,
    FourEyesRequired,
    TransactionNotReversible,
    WalletNotActive,
    WalletNotEmpty,
)

A, B = uuid4(), uuid4()


@pytest.mark.parametrize(
    ("action", "status", "expected"),
    [
        (WalletAction.FREEZE, "ACTIVE", "FROZEN"),
        (WalletAction.FREEZE, "FROZEN", None),
        (WalletAction.UNFREEZE, "FROZEN", "ACTIVE"),
        (WalletAction.UNFREEZE, "ACTIVE", None),
        (WalletAction.CLOSE, "ACTIVE", "CLOSED"),
        (WalletAction.CLOSE, "FROZEN", "CLOSED"),
        (WalletAction.CLOSE, "CLOSED", None),
    ],
)
def test_status_transitions(action: WalletAction, status: str, expected: str | None) -> None:
    assert next_status(action, status=status, balance=0, held=0) == expected


@pytest.mark.parametrize(("balance", "held"), [(1, 0), (5, 5), (0, 0)])
def test_closing_needs_an_empty_wallet(balance: int, held: int) -> None:
    if balance == held == 0:
        assert next_status(WalletAction.CLOSE, status="ACTIVE", balance=0, held=0) == "CLOSED"
        return
    with pytest.raises(WalletNotEmpty):
        next_status(WalletAction.CLOSE, status="ACTIVE", balance=balance, held=held)


@pytest.mark.parametrize("action", [WalletAction.FREEZE, WalletAction.UNFREEZE])
def test_a_closed_wallet_stays_closed(action: WalletAction) -> None:
    with pytest.raises(WalletNotActive):
        next_status(action, status="CLOSED", balance=0, held=0)


def test_four_eyes() -> None:
    with pytest.raises(FourEyesRequired):
        should_apply(status="PENDING", proposed_by="alice", approver="alice")
    with pytest.raises(FourEyesRequired):  # even once applied, the proposer is no approver
        should_apply(status="APPLIED", proposed_by="alice", approver="alice")
    assert should_apply(status="PENDING", proposed_by="alice", approver="bob") is True
    assert should_apply(status="APPLIED", proposed_by="alice", approver="bob") is False
    with pytest.raises(AdjustmentAlreadyDecided):
        should_apply(status="REJECTED", proposed_by="alice", approver="bob")


def test_rejection() -> None:
    assert should_reject(status="PENDING") is True
    assert should_reject(status="REJECTED") is False
    with pytest.raises(AdjustmentAlreadyDecided):
        should_reject(status="APPLIED")


def test_a_transfer_is_reversed_leg_by_leg() -> None:
    entries = [ReversedEntry(A, "USER", -10, 0), ReversedEntry(B, "USER", 10, 0)]
    legs = plan_reversal(journal_type="TRANSFER", hold_id=None, entries=entries)
    assert [(leg.wallet_id, leg.amount) for leg in legs] == [(A, 10), (B, -10)]


@pytest.mark.parametrize(
    ("journal_type", "hold_id", "entries"),
    [
        ("ADJUSTMENT", None, [(A, 5, 0), (B, -5, 0)]),
        ("REVERSAL", None, [(A, 5, 0), (B, -5, 0)]),
        ("CAPTURE", uuid4(), [(A, -5, -5), (B, 5, 0)]),
        ("HOLD", None, [(A, 0, 5)]),
        ("TRANSFER", None, [(A, 0, 0)]),
    ],
)
def test_what_cannot_be_reversed(
    journal_type: str, hold_id: UUID | None, entries: list[tuple[UUID, int, int]]
) -> None:
    with pytest.raises(TransactionNotReversible):
        plan_reversal(
            journal_type=journal_type,
            hold_id=hold_id,
            entries=[ReversedEntry(w, "USER", amount, held) for w, amount, held in entries],
        )

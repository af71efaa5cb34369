"""Legs of corrections (ADJUSTMENT, REVERSAL), without a database."""

from __future__ import annotations

from uuid import uuid4

import pytest

from wallet.ledger.core import Leg, SystemKind, adjustment_legs, reversal_legs

A, B, EXTERNAL = uuid4(), uuid4(), uuid4()


@pytest.mark.parametrize("amount", [130, -45])
def test_an_adjustment_moves_the_wallet_against_suspense(amount: int) -> None:
    assert adjustment_legs(A, amount) == (
        Leg(wallet_id=A, amount=amount),
        Leg(system_kind=SystemKind.SUSPENSE, amount=-amount),
    )


def test_an_adjustment_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="non-zero"):
        adjustment_legs(A, 0)


def test_a_reversal_negates_every_entry() -> None:
    legs = reversal_legs([(A, "USER", -250), (B, "USER", 250)])
    assert [(leg.wallet_id, leg.amount) for leg in legs] == [(A, 250), (B, -250)]


def test_a_reversal_reaches_system_wallets_by_kind() -> None:
    # Postings may not name a system wallet by id (ledger_apply refuses it).
    assert reversal_legs([(A, "USER", 70), (EXTERNAL, "EXTERNAL", -70)]) == (
        Leg(wallet_id=A, amount=-70),
        Leg(system_kind=SystemKind.EXTERNAL, amount=70),
    )


def test_a_reversal_of_unbalanced_entries_is_refused() -> None:
    with pytest.raises(ValueError, match="sum to"):
        reversal_legs([(A, "USER", -250), (EXTERNAL, "EXTERNAL", 200)])

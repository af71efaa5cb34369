"""Posting construction, without a database."""

from __future__ import annotations

from uuid import uuid4

import pytest

from wallet.errors import SameWallet
from wallet.ledger.core import (
    Leg,
    Posting,
    PostingContext,
    SystemKind,
    check_balanced,
    deposit_legs,
    request_fingerprint,
    transfer_legs,
    withdraw_legs,
)

A, B = uuid4(), uuid4()


def test_deposit_credits_wallet_and_debits_external() -> None:
    legs = deposit_legs(A, 500)
    assert legs == (Leg(wallet_id=A, amount=500), Leg(system_kind=SystemKind.EXTERNAL, amount=-500))
    check_balanced(legs)


def test_withdraw_is_the_mirror_of_deposit() -> None:
    assert [leg.amount for leg in withdraw_legs(A, 70)] == [-70, 70]


def test_transfer_moves_between_two_wallets() -> None:
    legs = transfer_legs(A, B, 25)
    assert [(leg.wallet_id, leg.amount) for leg in legs] == [(A, -25), (B, 25)]


def test_transfer_to_the_same_wallet_is_refused() -> None:
    with pytest.raises(SameWallet):
        transfer_legs(A, A, 1)


def test_unbalanced_legs_are_refused() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        check_balanced((Leg(wallet_id=A, amount=1),))
    with pytest.raises(ValueError, match="at least one leg"):
        check_balanced(())


def test_a_posting_cannot_be_built_unbalanced() -> None:
    context = PostingContext(caller="c", idempotency_key="k", fingerprint="f", trace_id="t")
    with pytest.raises(ValueError, match="sum to"):
        Posting(
            context=context,
            journal_id=uuid4(),
            journal_type="DEPOSIT",
            event_type="wallet.deposit.completed",
            wallet_id=A,
            amount=5,
            legs=(Leg(wallet_id=A, amount=5),),
        )


def test_a_leg_names_a_wallet_or_a_system_kind_not_both() -> None:
    with pytest.raises(ValueError, match="either"):
        Leg(amount=1)
    with pytest.raises(ValueError, match="either"):
        Leg(amount=1, wallet_id=A, system_kind=SystemKind.FEES)


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    first = request_fingerprint(method="POST", path="/p", body={"a": 1, "b": 2})
    assert first == request_fingerprint(method="POST", path="/p", body={"b": 2, "a": 1})
    assert first != request_fingerprint(method="POST", path="/p", body={"a": 1, "b": 3})
    assert first != request_fingerprint(method="POST", path="/q", body={"a": 1, "b": 2})

"""The pure hold, capture and refund rules (no database)."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallet.errors import SameWallet
from wallet.ledger.core import (
    EVENT_TYPES,
    CaptureShare,
    JournalType,
    Leg,
    SystemKind,
    allocate_refund,
    capture_legs,
    capture_released,
    check_balanced,
    hold_adjust_legs,
    hold_legs,
    hold_release_legs,
    refund_legs,
)

PAYER = UUID(int=1)
DRIVER = UUID(int=2)
PLATFORM = UUID(int=3)


def test_every_journal_type_has_an_event() -> None:
    assert set(EVENT_TYPES) == set(JournalType)
    assert EVENT_TYPES[JournalType.CAPTURE] == "hold.captured"
    assert EVENT_TYPES[JournalType.REFUND] == "refund.completed"


def test_hold_steps_move_held_only() -> None:
    assert hold_legs(PAYER, 500) == (Leg(wallet_id=PAYER, amount=0, held_delta=500),)
    assert hold_adjust_legs(PAYER, -200) == (Leg(wallet_id=PAYER, amount=0, held_delta=-200),)
    assert hold_release_legs(PAYER, 300) == (Leg(wallet_id=PAYER, amount=0, held_delta=-300),)
    for legs in (hold_legs(PAYER, 1), hold_release_legs(PAYER, 1)):
        check_balanced(legs)


def test_a_split_capture_is_one_balanced_set_of_legs() -> None:
    shares = (CaptureShare(amount=1_300, wallet_id=DRIVER), CaptureShare(amount=320))
    legs = capture_legs(PAYER, shares, released=180)
    assert legs == (
        Leg(wallet_id=PAYER, amount=-1_620, held_delta=-1_800),
        Leg(wallet_id=DRIVER, amount=1_300),
        Leg(system_kind=SystemKind.SETTLEMENT, amount=320),
    )
    check_balanced(legs)


def test_a_capture_to_the_paying_wallet_is_refused() -> None:
    with pytest.raises(SameWallet):
        capture_legs(PAYER, (CaptureShare(amount=1, wallet_id=PAYER),), released=0)
    with pytest.raises(ValueError, match="recipient"):
        capture_legs(PAYER, (), released=0)


def test_only_a_final_capture_releases_the_rest() -> None:
    assert capture_released(remaining=1_800, captured=1_620, final=True) == 180
    assert capture_released(remaining=1_800, captured=1_620, final=False) == 0
    assert capture_released(remaining=1_800, captured=1_800, final=True) == 0
    for captured in (0, 1_801):
        with pytest.raises(ValueError, match="capture"):
            capture_released(remaining=1_800, captured=captured, final=False)


def test_the_ride_refund_takes_241_from_the_driver_and_59_from_the_platform() -> None:
    assert allocate_refund(300, {DRIVER: 1_300, PLATFORM: 320}) == {DRIVER: 241, PLATFORM: 59}


def test_equal_remainders_go_to_the_lower_wallet_id() -> None:
    assert allocate_refund(1, {PLATFORM: 50, DRIVER: 50}) == {DRIVER: 1}


def test_refunds_beyond_what_is_refundable_are_refused() -> None:
    for amount in (0, 101):
        with pytest.raises(ValueError, match="refund"):
            allocate_refund(amount, {DRIVER: 60, PLATFORM: 40})


def test_refund_legs_balance() -> None:
    legs = refund_legs(PAYER, {DRIVER: 241, PLATFORM: 59})
    assert legs[0] == Leg(wallet_id=PAYER, amount=300)
    check_balanced(legs)


received_by_recipient = st.dictionaries(
    st.builds(uuid4), st.integers(min_value=1, max_value=10**15), min_size=1, max_size=6
)


@given(received=received_by_recipient, data=st.data())
def test_successive_refunds_never_overdraw_a_recipient_and_end_exact(
    received: dict[UUID, int], data: st.DataObject
) -> None:
    unrefunded = dict(received)
    while sum(unrefunded.values()) > 0:
        left = sum(unrefunded.values())
        amount = data.draw(st.one_of(st.just(left), st.integers(min_value=1, max_value=left)))
        taken = allocate_refund(amount, unrefunded)
        assert sum(taken.values()) == amount
        for wallet_id, share in taken.items():
            assert 0 < share <= unrefunded[wallet_id]
            # Pro rata within one minor unit of the exact share.
            assert abs(share * left - amount * unrefunded[wallet_id]) < left
            unrefunded[wallet_id] -= share
    assert all(value == 0 for value in unrefunded.values())

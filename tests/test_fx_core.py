"""FX conversion: exact decimal rates, half-even on what the customer receives."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallet.fx.core import convert


def test_minor_units_follow_each_currencys_exponent() -> None:
    # 10.00 USD at 150.25 JPY per USD: 1502.5 JPY, no spread -> half-even to 1502
    assert (
        convert(
            sell=1_000, rate=Decimal("150.25"), source="USD", target="JPY", spread_rate=Decimal(0)
        ).buy
        == 1502
    )
    # 1000 JPY at 0.0066 USD per JPY: 6.60 USD
    assert (
        convert(
            sell=1_000, rate=Decimal("0.0066"), source="JPY", target="USD", spread_rate=Decimal(0)
        ).buy
        == 660
    )
    # 1.000 KWD (3 decimals) to USD at 3.25: 3.25 USD
    assert (
        convert(
            sell=1_000, rate=Decimal("3.25"), source="KWD", target="USD", spread_rate=Decimal(0)
        ).buy
        == 325
    )


def test_the_spread_goes_to_fees_and_nothing_is_lost() -> None:
    result = convert(
        sell=10_000,
        rate=Decimal("0.9215"),
        source="USD",
        target="EUR",
        spread_rate=Decimal("0.005"),
    )
    # gross 9215.00; the customer gets 9215 * 0.995 = 9168.925 -> 9169; the spread is 46
    assert (result.buy, result.spread) == (9169, 46)


@given(
    sell=st.integers(1, 10**12),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("10000"), places=6),
    spread=st.decimals(min_value=Decimal(0), max_value=Decimal("0.05"), places=4),
)
def test_buy_plus_spread_is_the_gross_rounded(sell: int, rate: Decimal, spread: Decimal) -> None:
    result = convert(sell=sell, rate=rate, source="USD", target="EUR", spread_rate=spread)
    gross = Decimal(sell) * rate
    assert result.buy + result.spread == round(gross)  # round() is half-even for Decimal
    assert result.spread >= 0 or result.buy == 0


def test_refuses_what_is_not_money() -> None:
    with pytest.raises(ValueError):
        convert(sell=0, rate=Decimal(1), source="USD", target="EUR", spread_rate=Decimal(0))
    with pytest.raises(ValueError):
        convert(sell=1, rate=Decimal(1), source="XTS", target="EUR", spread_rate=Decimal(0))

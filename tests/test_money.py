"""Money rules, without a database."""

from __future__ import annotations

import pytest

from wallet.money import currency_exponent, is_wallet_currency


@pytest.mark.parametrize(
    ("code", "exponent"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("BHD", 3), ("CLF", 4)]
)
def test_exponents_come_from_iso_4217(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent


@pytest.mark.parametrize("code", ["XAU", "XTS", "XXX", "usd", "ABC", "", "US"])
def test_non_money_and_unknown_codes_are_not_wallet_currencies(code: str) -> None:
    assert not is_wallet_currency(code)

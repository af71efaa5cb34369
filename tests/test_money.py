"""Money rules, without a database."""

from __future__ import annotations

import pytest

from wallet.money import MAX_AMOUNT, currency_exponent, format_amount, is_wallet_currency


@pytest.mark.parametrize(
    ("code", "exponent"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("BHD", 3), ("CLF", 4)]
)
def test_exponents_come_from_iso_4217(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent


@pytest.mark.parametrize("code", ["XAU", "XTS", "XXX", "usd", "ABC", "", "US"])
def test_non_money_and_unknown_codes_are_not_wallet_currencies(code: str) -> None:
    assert not is_wallet_currency(code)


def test_format_amount_uses_the_currency_exponent() -> None:
    assert format_amount(12345, "USD") == "123.45 USD"
    assert format_amount(-5, "USD") == "-0.05 USD"
    assert format_amount(1500, "JPY") == "1500 JPY"
    assert format_amount(1, "BHD") == "0.001 BHD"
    assert format_amount(MAX_AMOUNT, "USD") == "92233720368547758.07 USD"


def test_format_amount_refuses_non_money() -> None:
    with pytest.raises(ValueError, match="XAU"):
        format_amount(1, "XAU")

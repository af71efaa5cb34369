"""Pure money rules: currencies and amounts in integer minor units. No I/O."""

from __future__ import annotations

from functools import lru_cache

from iso4217 import Currency

MAX_AMOUNT = 2**63 - 1  # amounts are BIGINT in the database


@lru_cache(maxsize=512)
def currency_exponent(code: str) -> int | None:
    """Minor-unit exponent of an ISO 4217 currency, or None when ``code`` is not money.

    Codes without an exponent (gold, SDRs, the test code XTS) are not accepted as wallet
    currencies, because their amounts have no minor unit to count in.
    """
    member = Currency.__members__.get(code)
    if member is None or code != code.upper():
        return None
    exponent: int | None = member.exponent
    return exponent


def is_wallet_currency(code: str) -> bool:
    return currency_exponent(code) is not None

"""Pure FX rules: converting minor units at an exact decimal rate. No I/O.

The rule: the customer sells ``sell`` minor units of the source currency. At the mid rate the
gross is ``sell * rate * 10**(target exponent - source exponent)`` minor units of the target
currency (exact, as a Decimal). The customer receives the gross less the spread, rounded half
to even to a whole minor unit; the spread booked to FEES is the gross rounded half to even
less what the customer receives. So the FX wallet of the target currency pays out exactly
round(gross), the customer gets the rounding of what they receive, and nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from wallet.money import currency_exponent

# Enough digits for any BIGINT amount times any sane rate, exactly.
_PRECISION = 60


@dataclass(frozen=True, slots=True)
class Conversion:
    sell: int
    buy: int  # what the customer receives
    spread: int  # to FEES, in the target currency


def convert(
    *, sell: int, rate: Decimal, source: str, target: str, spread_rate: Decimal
) -> Conversion:
    """Convert ``sell`` minor units of ``source`` into ``target`` at ``rate`` (target per 1
    source, major units), keeping ``spread_rate`` (e.g. 0.005) of it as the spread."""
    source_exponent, target_exponent = currency_exponent(source), currency_exponent(target)
    if source_exponent is None or target_exponent is None:
        raise ValueError("not a wallet currency")
    if sell <= 0 or rate <= 0 or not (0 <= spread_rate < 1):
        raise ValueError("sell and rate must be positive, spread_rate in [0, 1)")
    with localcontext(Context(prec=_PRECISION)):
        gross = Decimal(sell) * rate * Decimal(10) ** (target_exponent - source_exponent)
        paid_out = int(gross.to_integral_value(rounding=ROUND_HALF_EVEN))
        buy = int((gross * (1 - spread_rate)).to_integral_value(rounding=ROUND_HALF_EVEN))
    return Conversion(sell=sell, buy=buy, spread=paid_out - buy)


def inverse(rate: Decimal) -> Decimal:
    """The rate of the opposite direction, to 28 significant digits."""
    with localcontext(Context(prec=28)):
        return Decimal(1) / rate

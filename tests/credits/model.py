"""The money rules as the random-sequence model expects them: pure state, no I/O.

Written from the rules (docstrings, DESIGN), not from the service's code paths, so that the
model and the service can disagree."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Context, Decimal, localcontext
from fractions import Fraction

# Minor-unit exponents of the currencies the model uses (ISO 4217), kept here on purpose.
EXPONENTS = {"USD": 2, "EUR": 2, "JPY": 0}
SYSTEM_KINDS = ("EXTERNAL", "PROMOTIONS", "PAYOUTS", "FX", "FEES")


@dataclass
class Grant:
    id: str
    days: int
    n: int  # creation order: the tie-break after expiry (ids are time-ordered)
    remaining: int
    expired: bool = False


@dataclass
class Ride:
    id: str
    spent: int
    promo: int
    uses: dict[str, int]
    returned: dict[str, int] = field(default_factory=dict)
    refunded: int = 0


@dataclass
class Account:
    """A user wallet: its cash (balance less promotional credit) and its grants."""

    id: str
    owner: str
    currency: str
    cash: int = 0
    grants: list[Grant] = field(default_factory=list)

    @property
    def promotional(self) -> int:
        return sum(g.remaining for g in self.grants if not g.expired)

    @property
    def balance(self) -> int:
        return self.cash + self.promotional


@dataclass
class Payout:
    account: Account
    amount: int
    status: str = "PENDING"


@dataclass(frozen=True)
class Conversion:
    buy: int  # what the customer receives
    spread: int  # to FEES, in the target currency
    tie: bool  # what the customer receives was exactly half way between two minor units


@dataclass
class Books:
    """Every user wallet of one sequence, and how much each system wallet moved since it
    started (they are shared with the rest of the suite)."""

    accounts: list[Account]
    rates: dict[tuple[str, str], Decimal]
    spread_rate: Decimal
    rides: list[Ride] = field(default_factory=list)
    runs: dict[str, list[Payout]] = field(default_factory=dict)
    system: Counter[tuple[str, str]] = field(default_factory=Counter)

    def deposit(self, account: Account, amount: int) -> None:
        account.cash += amount
        self.system["EXTERNAL", account.currency] -= amount

    def withdraw(self, account: Account, amount: int) -> None:
        account.cash -= amount
        self.system["EXTERNAL", account.currency] += amount

    def grant(self, account: Account, grant: Grant) -> None:
        account.grants.append(grant)
        self.system["PROMOTIONS", account.currency] -= grant.remaining

    def expire(self, account: Account, grant: Grant) -> None:
        self.system["PROMOTIONS", account.currency] += grant.remaining
        grant.expired = True
        grant.remaining = 0

    def ride(self, payer: Account, driver: Account, ride_id: str, amount: int) -> None:
        """Promotional credit is spent first, the grant expiring soonest first."""
        uses, left = {}, amount
        for g in sorted(payer.grants, key=lambda g: (g.days, g.n)):
            if g.expired or left == 0 or g.remaining == 0:
                continue
            taken = min(g.remaining, left)
            g.remaining -= taken
            left -= taken
            uses[g.id] = taken
        payer.cash -= left
        driver.cash += amount
        self.rides.append(Ride(ride_id, amount, amount - left, uses))

    def refund(self, payer: Account, driver: Account, ride: Ride, amount: int) -> None:
        """Cash comes back first, then promotional credit: to the grants it came from while
        they are live (latest expiring first), the rest to PROMOTIONS as breakage."""
        cash_spent = ride.spent - ride.promo
        promo_part = max(0, ride.refunded + amount - cash_spent) - max(
            0, ride.refunded - cash_spent
        )
        payer.cash += amount - promo_part
        driver.cash -= amount
        ride.refunded += amount
        by_id = {g.id: g for g in payer.grants}
        for gid in sorted(ride.uses, key=lambda i: (-by_id[i].days, -by_id[i].n)):
            g = by_id[gid]
            room = ride.uses[gid] - ride.returned.get(gid, 0)
            if g.expired or promo_part == 0 or room == 0:
                continue
            back = min(room, promo_part)
            g.remaining += back
            ride.returned[gid] = ride.returned.get(gid, 0) + back
            promo_part -= back
        self.system["PROMOTIONS", payer.currency] += promo_part

    # --- FX ---------------------------------------------------------------------------------

    def rate(self, source: str, target: str) -> Decimal | None:
        """The stored rate of the pair, else the inverse of the opposite one (28 digits)."""
        if (source, target) in self.rates:
            return self.rates[source, target]
        opposite = self.rates.get((target, source))
        if opposite is None:
            return None
        with localcontext(Context(prec=28)):
            return Decimal(1) / opposite

    def conversion(self, sell: int, source: str, target: str) -> Conversion | None:
        """The customer gets gross less the spread, half to even; FEES get round(gross) - buy."""
        rate = self.rate(source, target)
        if rate is None:
            return None
        gross = sell * Fraction(rate) * Fraction(10) ** (EXPONENTS[target] - EXPONENTS[source])
        received = gross * (1 - Fraction(self.spread_rate))
        buy = _half_even(received)
        return Conversion(buy, _half_even(gross) - buy, tie=(received * 2).denominator == 1)

    def exchange(self, source: Account, target: Account, sell: int, buy: int, spread: int) -> None:
        source.cash -= sell
        target.cash += buy
        self.system["FX", source.currency] += sell
        self.system["FX", target.currency] -= buy + spread
        self.system["FEES", target.currency] += spread

    # --- payouts ----------------------------------------------------------------------------

    def start_run(self, run_id: str, chosen: list[Account], threshold: int) -> int:
        """Each chosen wallet whose cash is above the threshold pays all of it out."""
        payouts = [Payout(a, a.cash) for a in chosen if a.cash > threshold]
        for payout in payouts:
            payout.account.cash = 0
            self.system["PAYOUTS", payout.account.currency] += payout.amount
        self.runs[run_id] = payouts
        return len(payouts)

    def open_payouts(self) -> list[Payout]:
        return [p for run in self.runs.values() for p in run if p.status in ("PENDING", "SENT")]

    def rail_answered(self, payout: Payout, status: str) -> None:
        currency = payout.account.currency
        if status == "PAID":
            self.system["PAYOUTS", currency] -= payout.amount
            self.system["EXTERNAL", currency] += payout.amount
        elif status == "FAILED":
            self.system["PAYOUTS", currency] -= payout.amount
            payout.account.cash += payout.amount
        payout.status = status if status != "UNKNOWN" else "SENT"


def _half_even(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        return floor + 1
    return floor

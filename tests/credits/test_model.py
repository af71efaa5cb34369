"""Random sequences of grants, rides, withdrawals, refunds, expiries, deposits, FX rates and
exchanges, payout runs and the rail's answers, against a model of the rules (model.py): after
each step every wallet, grant, payout and system wallet matches it, every journal balances per
currency, money is conserved per currency and the reconciliation finds nothing new."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from fastapi import FastAPI
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.credits import model_checks
from tests.credits.helpers import expire, granted
from tests.credits.model import EXPONENTS, Account, Books, Grant
from tests.holds.helpers import capture
from tests.payouts.helpers import FakeRail
from tests.support import Api
from wallet.auth.tokens import Role
from wallet.credits.tasks import expire_due_credits
from wallet.payouts.rail import RailAnswer
from wallet.payouts.service import process_due

# The rider pays for rides from the first wallet (the only one with grants) to the driver's
# first; both own wallets in other currencies, so exchanges go within and across owners.
LAYOUT = (("", "USD"), ("", "EUR"), ("", "JPY"), ("-driver", "USD"), ("-driver", "EUR"))
PAYER, DRIVER = 0, 3
CURRENCIES = sorted(EXPONENTS)
EXCHANGES = [
    (i, j) for i in range(len(LAYOUT)) for j in range(len(LAYOUT)) if LAYOUT[i][1] != LAYOUT[j][1]
]
RATE_PAIRS = [(b, q) for b in CURRENCIES for q in CURRENCIES if b != q]
# Round numbers make the half-to-even ties and the inverse rates' last digits matter.
RATES = ("1", "2", "0.5", "3", "0.9215", "1.085", "150.25", "0.0067", "0.00004", "7.5")
ANSWERS = (RailAnswer("PAID"), RailAnswer("FAILED", "account closed"), RailAnswer("UNKNOWN"))
PAID, FAILED, SILENT = range(len(ANSWERS))

Step = tuple[str, int, int, int]
wallet_index = st.integers(0, len(LAYOUT) - 1)
# The payer's cash is small next to its grants (so promotional credit decides); the others
# start with enough to exchange and be paid out.
funding = st.tuples(st.integers(0, 200), *[st.integers(50, 400)] * (len(LAYOUT) - 1))
# 150 at 2 and 300 at 1 land exactly half way (298.5): half to even and half up differ.
sell = st.one_of(st.sampled_from([50, 100, 150, 300]), st.integers(1, 300))
# The admin sets rates as plans go, and before they start: exchanges need them.
rate_step = st.tuples(
    st.just("rate"), st.integers(0, len(RATE_PAIRS) - 1), st.integers(0, len(RATES) - 1), st.just(0)
)
payout_run_step = st.tuples(
    st.just("payout_run"),
    st.integers(0, 50),
    st.integers(1, 2 ** len(LAYOUT) - 1),
    st.integers(0, len(CURRENCIES) - 1),
)
rail_step = st.tuples(
    st.just("rail"), st.integers(0, len(ANSWERS) - 1), st.integers(0, len(ANSWERS) - 1), st.just(0)
)
step = st.one_of(
    st.tuples(st.just("grant"), st.integers(1, 60), st.integers(1, 9), st.just(0)),
    st.tuples(st.just("ride"), st.integers(1, 120), st.just(0), st.just(0)),
    st.tuples(st.just("withdraw"), wallet_index, st.integers(1, 80), st.just(0)),
    st.tuples(st.just("refund"), st.integers(1, 80), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("expire"), st.integers(0, 5), st.just(0), st.just(0)),
    st.tuples(st.just("deposit"), wallet_index, st.integers(1, 300), st.just(0)),
    rate_step,
    st.tuples(
        st.just("exchange"),
        st.integers(0, len(EXCHANGES) - 1),
        sell,
        st.integers(0, 1),
    ),
    # A payout needs a run and then the rail: both twice as likely, so that plans reach both.
    *[payout_run_step, rail_step] * 2,
)

# One plan that reaches every rule, whatever the random ones reach: a ride on two grants and
# cash, a refund back into the later grant, its expiry with breakage, a tie exchanged across
# owners (150 cents at 2: 298.5 euro cents received, 298 half to even) and its quote used
# again once the money is gone, a EUR run (one payout refused, one paid), a USD run the rail
# does not answer, a refund the driver cannot give back while its payout is out, and a close
# that refuses the rider's payout.
TOUR: list[Step] = [
    ("grant", 30, 2, 0),
    ("grant", 20, 5, 0),
    ("ride", 100, 0, 0),
    ("refund", 60, 0, 0),
    ("expire", 1, 0, 0),
    ("rate", RATE_PAIRS.index(("USD", "EUR")), RATES.index("2"), 0),
    ("exchange", EXCHANGES.index((PAYER, 4)), 150, 1),
    ("payout_run", 0, 2 ** len(LAYOUT) - 1, CURRENCIES.index("EUR")),
    ("rail", FAILED, PAID, 0),
    ("payout_run", 10, 2 ** len(LAYOUT) - 1, CURRENCIES.index("USD")),
    ("rail", SILENT, SILENT, 0),
    ("refund", 40, 0, 0),
]


async def test_random_sequences_keep_the_rules(
    api: Api, owner: str, app: FastAPI, db: asyncpg.Connection[Any]
) -> None:
    loop = asyncio.get_running_loop()

    reached: Counter[str] = Counter()

    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
    @example(rates=[], plan=TOUR, closing=("rail", FAILED, SILENT, 0), cash=(200, 50, 0, 0, 100))
    @given(
        rates=st.lists(rate_step, min_size=2, max_size=3),
        plan=st.lists(step, min_size=3, max_size=20),
        closing=rail_step,  # every payout left open gets an answer, not only a PAID
        cash=funding,
    )
    def check(rates: list[Step], plan: list[Step], closing: Step, cash: tuple[int, ...]) -> None:
        # The reconciliation reads the whole database: after every step of the tour, which
        # reaches every rule, and at the end of every other plan (what it finds, stays).
        every_step = plan == TOUR
        sequence = _run(Sequence(api, app, db, owner), [*rates, *plan, closing], cash, every_step)
        try:
            reached.update(asyncio.run_coroutine_threadsafe(sequence, loop).result())
        except Exception as failure:
            # Hypothesis prints this function's arguments blank (it runs in a worker thread).
            failure.add_note(f"rates={rates!r}\nplan={plan!r}\nclosing={closing!r}\ncash={cash!r}")
            raise

    await asyncio.to_thread(check)
    # A model whose plans stopped reaching the rules would pass without checking them.
    rules = {"ride", "refund", "expiry", "exchange", "tie", "payout", "paid", "failed", "unknown"}
    assert rules <= set(reached), reached


@dataclass
class Sequence:
    api: Api
    app: FastAPI
    db: asyncpg.Connection[Any]
    owner: str

    async def open(self) -> tuple[Books, FakeRail]:
        tag = f"{self.owner}-{uuid4().hex[:8]}"
        accounts = []
        for suffix, currency in LAYOUT:
            created = await self.api.create_wallet(f"{tag}{suffix}", currency)
            accounts.append(Account(created["id"], created["owner_id"], currency))
        stored = await self.db.fetch(
            "SELECT base, quote, rate FROM fx_rates WHERE base = ANY($1) AND quote = ANY($1)",
            CURRENCIES,
        )
        rates = {(r["base"], r["quote"]): Decimal(r["rate"]) for r in stored}
        books = Books(accounts, rates, spread_rate=self.app.state.settings.fx_spread)
        # Owners the model was not told about are answered UNKNOWN: nothing else moves.
        return books, FakeRail(default=RailAnswer("UNKNOWN"))

    def admin(self) -> dict[str, str]:
        return self.api.headers(self.api.token("admin-model", Role.ADMIN))


async def _run(
    seq: Sequence, plan: list[Step], cash: tuple[int, ...], every_step: bool
) -> list[str]:
    books, rail = await seq.open()
    try:
        return await _play(seq, books, rail, plan, cash, every_step)
    except BaseException:
        # A failed plan still settles its payouts: the worker asks about every open payout,
        # and the plans tried next (shrinking) must not meet these.
        rail.answers = {a.owner: RailAnswer("PAID") for a in books.accounts}
        await process_due(seq.app.state.pool, rail, retry_after_seconds=0)
        raise


async def _play(
    seq: Sequence,
    books: Books,
    rail: FakeRail,
    plan: list[Step],
    cash: tuple[int, ...],
    every_step: bool,
) -> list[str]:
    start = await model_checks.baseline(seq.api, seq.db)
    for index, amount in enumerate(cash):
        if amount:
            await _deposit(seq, books, rail, (index, amount, 0))
    outcomes = []
    for kind, *args in plan:
        outcomes += await STEPS[kind](seq, books, rail, (args[0], args[1], args[2]))
        await model_checks.check(seq.api, seq.db, books, start, reconciling=every_step)
    # Settle what is still open, so later sequences start from a quiet rail.
    outcomes += await _rail(seq, books, rail, (PAID, PAID, 0))
    await model_checks.check(seq.api, seq.db, books, start, reconciling=True)
    return outcomes


Args = tuple[int, int, int]


async def _grant(seq: Sequence, books: Books, rail: FakeRail, args: Args) -> list[str]:
    amount, days, _ = args
    payer = books.accounts[PAYER]
    body = await granted(seq.api, payer.id, amount, days=days)
    books.grant(payer, Grant(body["id"], days, len(payer.grants), amount))
    return ["grant"]


async def _ride(seq: Sequence, books: Books, rail: FakeRail, args: Args) -> list[str]:
    amount = args[0]
    payer, driver = books.accounts[PAYER], books.accounts[DRIVER]
    hold = await seq.api.http.post(
        f"/v1/wallets/{payer.id}/holds",
        json={"amount": amount},
        headers=seq.api.headers(key=str(uuid4())),
    )
    if payer.balance < amount:
        assert hold.json()["code"] == "insufficient_funds"
        return ["ride refused"]
    assert hold.status_code == 201, hold.text
    split = {"splits": [{"to_wallet_id": driver.id, "amount": amount}]}
    done = await capture(seq.api, hold.json()["id"], split)
    assert done.status_code == 201, done.text
    books.ride(payer, driver, done.json()["id"], amount)
    return ["ride"]


async def _withdraw(seq: Sequence, books: Books, rail: FakeRail, args: Args) -> list[str]:
    index, amount, _ = args
    account = books.accounts[index]
    answer = await seq.api.move(account.id, "withdraw", {"amount": amount})
    if amount <= account.cash:
        assert answer.status_code == 201, answer.text
        books.withdraw(account, amount)
        return ["withdrawal"]
    if amount <= account.balance:
        assert answer.json()["code"] == "insufficient_withdrawable_funds"
        return ["withdrawal of promotional credit refused"]
    assert answer.json()["code"] == "insufficient_funds"
    return ["withdrawal refused"]


async def _refund(seq: Sequence, books: Books, rail: FakeRail, args: Args) -> list[str]:
    wanted, which, _ = args
    if not books.rides:
        return ["no ride to refund"]
    ride = books.rides[which % len(books.rides)]
    amount = min(wanted, ride.spent - ride.refunded)
    if amount == 0:
        return ["ride already refunded"]
    answer = await seq.api.http.post(
        f"/v1/transactions/{ride.id}/refund",
        json={"amount": amount},
        headers=seq.api.headers(key=str(uuid4())),
    )
    payer, driver = books.accounts[PAYER], books.accounts[DRIVER]
    # The money comes back from the driver, who may have been paid out or exchanged it.
    if driver.balance < amount:
        assert answer.json()["code"] == "insufficient_funds", answer.text
        return ["refund refused: the driver has not got it"]
    assert answer.status_code == 201, answer.text
    books.refund(payer, driver, ride, amount)
    return ["refund"]


async def _expire(seq: Sequence, books: Books, rail: FakeRail, args: Args) -> list[str]:
    payer = books.accounts[PAYER]
    live = [g for g in payer.grants if not g.expired]
    if not live:
        return ["nothing to expire"]
    grant = live[args[0] % len(live)]
    await expire(seq.db, grant.id)
    await expire_due_credits(seq.app.state.pool)
    books.expire(payer, grant)
    return ["expiry"]


async def _deposit(seq: Sequence, books: Books, rail: FakeRail, args: Args) -> list[str]:
    index, amount, _ = args
    account = books.accounts[index]
    answer = await seq.api.move(account.id, "deposit", {"amount": amount})
    assert answer.status_code == 201, answer.text
    books.deposit(account, amount)
    return ["deposit"]


async def _rate(seq: Sequence, books: Books, rail: FakeRail, args: Args) -> list[str]:
    base, quote = RATE_PAIRS[args[0]]
    rate = RATES[args[1]]
    answer = await seq.api.http.put(
        f"/v1/admin/fx-rates/{base}/{quote}",
        json={"rate": rate, "source": "model"},
        headers=seq.admin(),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["rate"] == rate
    books.rates[base, quote] = Decimal(rate)
    return ["rate"]


async def _exchange(seq: Sequence, books: Books, rail: FakeRail, args: Args) -> list[str]:
    pair, sell, use_twice = args
    source, target = (books.accounts[i] for i in EXCHANGES[pair])
    quoted = await seq.api.http.post(
        "/v1/fx/quotes",
        json={"from_wallet_id": source.id, "to_wallet_id": target.id, "amount": sell},
        headers=seq.api.headers(),
    )
    expected = books.conversion(sell, source.currency, target.currency)
    if expected is None:
        assert (quoted.status_code, quoted.json()["code"]) == (422, "fx_rate_not_found")
        return ["exchange without a rate"]
    buy, spread, tie = expected.buy, expected.spread, expected.tie
    if buy <= 0:
        assert (quoted.status_code, quoted.json()["code"]) == (422, "amount_out_of_range")
        return ["exchange into nothing"]
    assert quoted.status_code == 201, quoted.text
    quote = quoted.json()
    assert (quote["sell_amount"], quote["buy_amount"], quote["spread"]) == (sell, buy, spread)
    assert Decimal(quote["rate"]) == books.rate(source.currency, target.currency)
    body = {"to_wallet_id": target.id, "quote_id": quote["id"]}
    moved = await seq.api.move(source.id, "transfer", body)
    if source.balance < sell:
        assert moved.json()["code"] == "insufficient_funds", moved.text
        return ["exchange refused"]
    if source.cash < sell:  # promotional credit is never exchanged
        assert moved.json()["code"] == "insufficient_withdrawable_funds", moved.text
        return ["exchange of promotional credit refused"]
    assert moved.status_code == 201, moved.text
    books.exchange(source, target, sell, buy, spread)
    if use_twice:
        again = await seq.api.move(source.id, "transfer", body)
        assert (again.status_code, again.json()["code"]) == (409, "quote_expired")
    return (
        ["exchange", f"{source.currency}->{target.currency}"]
        + ["tie"] * tie
        + ["quote used twice"] * use_twice
    )


async def _payout_run(seq: Sequence, books: Books, rail: FakeRail, args: Args) -> list[str]:
    threshold, mask, which = args
    currency = CURRENCIES[which]
    # Any wallets may be named; only those of the run's currency may be paid out.
    named = [a for i, a in enumerate(books.accounts) if mask >> i & 1]
    answer = await seq.api.http.post(
        "/v1/admin/payout-runs",
        json={
            "currency": currency,
            "threshold": threshold,
            "owner_prefix": books.accounts[PAYER].owner,
            "wallet_ids": [a.id for a in named],
        },
        headers=seq.admin(),
    )
    assert answer.status_code == 201, answer.text
    eligible = [a for a in named if a.currency == currency]
    started = books.start_run(answer.json()["id"], eligible, threshold)
    return ["payout"] * started or ["payout run with nothing due"]


async def _rail(seq: Sequence, books: Books, rail: FakeRail, args: Args) -> list[str]:
    """The worker asks the rail about every open payout; the rail pays, refuses, or says
    nothing (the payout stays SENT and is asked again next time)."""
    payer, driver = books.accounts[PAYER], books.accounts[DRIVER]
    rail.answers = {payer.owner: ANSWERS[args[0]], driver.owner: ANSWERS[args[1]]}
    ours = await _our_payouts(seq, books)
    rail.asked.clear()
    await process_due(seq.app.state.pool, rail, retry_after_seconds=0)
    open_ids = {i for i, status in ours.items() if status in ("PENDING", "SENT")}
    # Each open payout is asked exactly once; a settled one never again.
    assert sorted(i for i in rail.asked if i in ours) == sorted(open_ids)
    answered = []
    for payout in books.open_payouts():
        answered.append(rail.answers[payout.account.owner].status.lower())
        books.rail_answered(payout, answered[-1].upper())
    return answered


async def _our_payouts(seq: Sequence, books: Books) -> dict[UUID, str]:
    rows = await seq.db.fetch(
        "SELECT id, status FROM payouts WHERE wallet_id = ANY($1::uuid[])",
        [a.id for a in books.accounts],
    )
    return {r["id"]: r["status"] for r in rows}


STEPS: dict[str, Callable[[Sequence, Books, FakeRail, Args], Awaitable[list[str]]]] = {
    "grant": _grant,
    "ride": _ride,
    "withdraw": _withdraw,
    "refund": _refund,
    "expire": _expire,
    "deposit": _deposit,
    "rate": _rate,
    "exchange": _exchange,
    "payout_run": _payout_run,
    "rail": _rail,
}

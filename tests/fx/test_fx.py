"""Cross-currency transfers: a locked quote, one journal balanced per currency through the FX
wallets, the spread to FEES; quotes are the caller's own, expire, and are used once."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx

from tests.support import Api
from wallet.auth.tokens import Role


async def _rate(api: Api, base: str, quote: str, rate: str) -> httpx.Response:
    return await api.http.put(
        f"/v1/admin/fx-rates/{base}/{quote}",
        json={"rate": rate, "source": "ecb-2026-12-01"},
        headers=api.headers(api.token("admin-alice", Role.ADMIN)),
    )


async def _quote(
    api: Api, source: str, target: str, amount: int, token: str | None = None
) -> httpx.Response:
    return await api.http.post(
        "/v1/fx/quotes",
        json={"from_wallet_id": source, "to_wallet_id": target, "amount": amount},
        headers=api.headers(token),
    )


async def _exchange(
    api: Api, source: str, target: str, quote_id: str, *, key: str | None = None
) -> httpx.Response:
    return await api.move(
        source, "transfer", {"to_wallet_id": target, "quote_id": quote_id}, key=key
    )


async def _fx_balance(db: asyncpg.Connection[Any], kind: str, currency: str) -> int:
    total: int = await db.fetchval(
        "SELECT coalesce(sum(balance), 0)::bigint FROM wallets WHERE kind = $1 AND currency = $2",
        kind,
        currency,
    )
    return total


async def test_an_exchange_is_one_journal_balanced_per_currency(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    rate = await _rate(api, "USD", "EUR", "0.9215")
    assert rate.status_code == 200, rate.text
    assert rate.json()["rate"] == "0.9215"
    usd = await api.funded_wallet(owner, 20_000)
    eur = (await api.create_wallet(owner, "EUR"))["id"]
    fx_usd, fx_eur, fees_eur = (
        await _fx_balance(db, "FX", "USD"),
        await _fx_balance(db, "FX", "EUR"),
        await _fx_balance(db, "FEES", "EUR"),
    )

    quoted = await _quote(api, usd, eur, 10_000)
    assert quoted.status_code == 201, quoted.text
    quote = quoted.json()
    # 100.00 USD at 0.9215: 92.15 EUR gross; 0.5% spread: 91.68925 -> 91.69 (half even); 0.46
    assert (quote["sell_amount"], quote["buy_amount"], quote["spread"]) == (10_000, 9_169, 46)
    assert quote["rate"] == "0.9215" and "half_even" in quote["rounding"]

    key = str(uuid4())
    moved = await _exchange(api, usd, eur, quote["id"], key=key)
    assert moved.status_code == 201, moved.text
    journal = moved.json()
    assert journal["type"] == "FX_TRANSFER"
    by_currency: dict[str, int] = {}
    rows = await db.fetch(
        "SELECT currency, amount FROM entries WHERE journal_id = $1", UUID(journal["id"])
    )
    for row in rows:
        by_currency[row["currency"]] = by_currency.get(row["currency"], 0) + row["amount"]
    assert by_currency == {"USD": 0, "EUR": 0}
    assert len(rows) == 5
    assert (await api.wallet(usd))["balance"] == 10_000
    assert (await api.wallet(eur))["balance"] == 9_169
    assert await _fx_balance(db, "FX", "USD") == fx_usd + 10_000
    assert await _fx_balance(db, "FX", "EUR") == fx_eur - 9_215
    assert await _fx_balance(db, "FEES", "EUR") == fees_eur + 46

    replay = await _exchange(api, usd, eur, quote["id"], key=key)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    again = await _exchange(api, usd, eur, quote["id"])
    assert (again.status_code, again.json()["code"]) == (409, "quote_expired")  # used once
    assert (await api.wallet(usd))["balance"] == 10_000

    position = await api.http.get(
        "/v1/admin/fx-position", headers=api.headers(api.token("admin-alice", Role.ADMIN))
    )
    assert position.status_code == 200
    pairs = {(p["from_currency"], p["to_currency"]): p for p in position.json()["pairs"]}
    assert pairs[("USD", "EUR")]["exchanges"] >= 1


async def test_quotes_are_the_callers_own_and_expire(
    api: Api, owner: str, db: asyncpg.Connection[Any]
) -> None:
    assert (await _rate(api, "GBP", "JPY", "190.5")).status_code == 200
    gbp = await api.funded_wallet(owner, 5_000, "GBP")
    jpy = (await api.create_wallet(owner, "JPY"))["id"]
    # the opposite direction uses the inverse rate: 1000 JPY -> 5.25 GBP less the spread
    back = await _quote(api, jpy, gbp, 1_000)
    assert back.status_code == 201, back.text
    assert back.json()["buy_amount"] == 522  # 524.93... * 0.995 = 522.30 -> 522

    quote = (await _quote(api, gbp, jpy, 1_000)).json()
    assert quote["buy_amount"] == 1_895  # 10.00 GBP = 1905 JPY gross, less 0.5%
    stranger = api.token("someone-else", Role.PAYMENTS)
    foreign = await api.move(
        gbp, "transfer", {"to_wallet_id": jpy, "quote_id": quote["id"]}, token=stranger
    )
    assert (foreign.status_code, foreign.json()["code"]) == (404, "quote_not_found")
    unknown = await _exchange(api, gbp, jpy, str(uuid4()))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "quote_not_found")
    other_amount = await api.move(
        gbp, "transfer", {"to_wallet_id": jpy, "quote_id": quote["id"], "amount": 999}
    )
    assert other_amount.json()["code"] == "quote_not_found"

    await db.execute(
        "UPDATE fx_quotes SET expires_at = now() - interval '1 second' WHERE id = $1",
        UUID(quote["id"]),
    )
    late = await _exchange(api, gbp, jpy, quote["id"])
    assert (late.status_code, late.json()["code"]) == (409, "quote_expired")
    assert (await api.wallet(gbp))["balance"] == 5_000

    same = await _quote(api, gbp, gbp, 100)
    assert same.json()["code"] == "currency_mismatch"
    no_rate = await _quote(api, gbp, (await api.create_wallet(owner, "CHF"))["id"], 100)
    assert (no_rate.status_code, no_rate.json()["code"]) == (422, "fx_rate_not_found")
    bad = await _rate(api, "GBP", "JPY", "1e5")
    assert bad.status_code == 422
    assert (await _rate(api, "GBP", "JPY", "190.50")).status_code == 200  # a new rate
    forbidden = await api.http.put(
        "/v1/admin/fx-rates/GBP/JPY", json={"rate": "2", "source": "x"}, headers=api.headers()
    )
    assert forbidden.status_code == 403


async def test_promotional_credit_is_not_exchanged(api: Api, owner: str) -> None:
    from tests.credits.helpers import granted

    assert (await _rate(api, "USD", "EUR", "0.9")).status_code == 200
    usd = await api.funded_wallet(owner, 100)
    eur = (await api.create_wallet(owner, "EUR"))["id"]
    await granted(api, usd, 500)
    quote = (await _quote(api, usd, eur, 200)).json()
    refused = await _exchange(api, usd, eur, quote["id"])
    assert (refused.status_code, refused.json()["code"]) == (422, "insufficient_withdrawable_funds")


async def test_a_used_quote_is_refused_as_used_once_the_money_is_gone(api: Api, owner: str) -> None:
    assert (await _rate(api, "USD", "EUR", "0.9")).status_code == 200
    usd = await api.funded_wallet(owner, 300)
    eur = (await api.create_wallet(owner, "EUR"))["id"]
    quote = (await _quote(api, usd, eur, 300)).json()
    assert (await _exchange(api, usd, eur, quote["id"])).status_code == 201
    again = await _exchange(api, usd, eur, quote["id"])  # a new key, the wallet now empty
    assert (again.status_code, again.json()["code"]) == (409, "quote_expired")
    assert (await api.wallet(eur))["balance"] == 269  # once: 270 gross, 268.65 received

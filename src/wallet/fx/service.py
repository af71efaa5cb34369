"""FX use cases: set a rate, quote, exchange. Never commit: the route owns the transaction."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from uuid import UUID

from uuid_utils.compat import uuid7

from wallet.auth.tokens import Principal
from wallet.db.pool import Connection
from wallet.errors import (
    AmountOutOfRange,
    CurrencyMismatch,
    FxRateNotFound,
    QuoteExpired,
    QuoteNotFound,
    RequestValidationFailed,
    WalletNotFound,
)
from wallet.fx import repository
from wallet.fx.core import convert, inverse
from wallet.fx.schemas import (
    FxPair,
    FxPosition,
    FxPositionReport,
    FxRateOut,
    FxRateRequest,
    QuoteOut,
    QuoteRequest,
)
from wallet.ledger import repository as ledger_repository
from wallet.ledger.core import JournalType, Leg, Posting, PostingContext, SystemKind
from wallet.ledger.service import PostedTransaction, answer_from
from wallet.money import is_wallet_currency
from wallet.wallets.repository import find_wallet

# What the idempotency key answers by itself: the first request's answer, or a misused key.
_KEY_ANSWERS = ("replayed", "idempotency_key_in_use", "idempotency_key_reused")

ROUNDING = "half_even on buy_amount (what the customer receives); spread = round(gross) - buy"


async def set_rate(
    conn: Connection, *, base: str, quote: str, request: FxRateRequest, actor: str
) -> FxRateOut:
    if not (is_wallet_currency(base) and is_wallet_currency(quote)) or base == quote:
        raise RequestValidationFailed("base and quote must be two different ISO 4217 currencies")
    try:
        rate = Decimal(request.rate)
    except InvalidOperation as exc:  # the schema's pattern already refuses these
        raise RequestValidationFailed("rate is not a decimal") from exc
    if rate <= 0:
        raise RequestValidationFailed("rate must be positive")
    row = await repository.upsert_rate(
        conn, base=base, quote=quote, rate=rate, source=request.source, actor=actor
    )
    return FxRateOut.model_validate(row)


async def create_quote(
    conn: Connection,
    *,
    caller: Principal,
    request: QuoteRequest,
    ttl_seconds: int,
    spread_rate: Decimal,
) -> QuoteOut:
    """Lock today's rate for ``caller``, these two wallets and this amount."""
    source = await find_wallet(
        conn, wallet_id=request.from_wallet_id, owner_scope=caller.owner_scope
    )
    target = await find_wallet(conn, wallet_id=request.to_wallet_id, owner_scope=None)
    if source is None or target is None:
        raise WalletNotFound()
    if source["currency"] == target["currency"]:
        raise CurrencyMismatch("an exchange needs wallets of two different currencies")
    found = await repository.find_rate(conn, base=source["currency"], quote=target["currency"])
    if found is None:
        raise FxRateNotFound()
    stored, inverted = found
    rate = inverse(stored) if inverted else stored
    conversion = convert(
        sell=request.amount,
        rate=rate,
        source=source["currency"],
        target=target["currency"],
        spread_rate=spread_rate,
    )
    if conversion.buy <= 0 or conversion.buy + conversion.spread > 2**63 - 1:
        raise AmountOutOfRange("the amount converts to nothing, or to more than fits")
    row = await repository.insert_quote(
        conn,
        quote_id=uuid7(),
        caller=caller.subject,
        from_wallet_id=request.from_wallet_id,
        to_wallet_id=request.to_wallet_id,
        from_currency=source["currency"],
        to_currency=target["currency"],
        sell_amount=conversion.sell,
        buy_amount=conversion.buy,
        spread_amount=conversion.spread,
        rate=rate,
        ttl_seconds=ttl_seconds,
    )
    return QuoteOut.model_validate({**row, "rounding": ROUNDING})


def exchange_legs(
    *, source: UUID, target: UUID, to_currency: str, sell: int, buy: int, spread: int
) -> tuple[Leg, ...]:
    """Balanced per currency: the source currency through its FX wallet, the target currency
    out of its FX wallet to the customer, the spread to FEES."""
    legs = [
        Leg(wallet_id=source, amount=-sell),
        Leg(system_kind=SystemKind.FX, amount=sell),
        Leg(system_kind=SystemKind.FX, amount=-(buy + spread), currency=to_currency),
        Leg(wallet_id=target, amount=buy, currency=to_currency),
    ]
    if spread:
        legs.append(Leg(system_kind=SystemKind.FEES, amount=spread, currency=to_currency))
    return tuple(legs)


async def exchange(
    conn: Connection,
    *,
    context: PostingContext,
    wallet_id: UUID,
    to_wallet_id: UUID,
    quote_id: UUID,
    amount: int | None,
    reference_id: str | None,
    category: str | None,
) -> PostedTransaction:
    """Use the quote once: one FX_TRANSFER journal, or the replay of the one it made."""
    quote = await repository.lock_quote(conn, quote_id=quote_id)
    if (
        quote is None
        or quote["caller"] != context.caller
        or quote["from_wallet_id"] != wallet_id
        or quote["to_wallet_id"] != to_wallet_id
        or (amount is not None and amount != quote["sell_amount"])
    ):
        raise QuoteNotFound()
    if quote["journal_id"] is None and quote["expired"]:
        raise QuoteExpired()
    journal_id = uuid7()
    posting = Posting(
        context=context,
        journal_id=journal_id,
        journal_type=JournalType.FX_TRANSFER.value,
        event_type="wallet.fx_transfer.completed",
        wallet_id=wallet_id,
        amount=quote["sell_amount"],
        legs=exchange_legs(
            source=wallet_id,
            target=to_wallet_id,
            to_currency=quote["to_currency"],
            sell=quote["sell_amount"],
            buy=quote["buy_amount"],
            spread=quote["spread_amount"],
        ),
        reference_id=reference_id,
        category=category,
        metadata={
            "quote_id": str(quote_id),
            "rate": str(quote["rate"]),
            "to_currency": quote["to_currency"],
            "buy_amount": quote["buy_amount"],
            "spread": quote["spread_amount"],
        },
    )
    (result,) = await ledger_repository.post(conn, [posting])
    # A used quote answers only the replay of its own request (or the key's own errors):
    # a new request is refused as used, whether the engine posted it (rolled back here) or
    # refused it, e.g. because the money it exchanged has left the wallet since.
    if quote["journal_id"] is not None and result.outcome not in _KEY_ANSWERS:
        raise QuoteExpired("the quote was already used")
    posted = answer_from(result, journal_type=posting.journal_type)
    if result.outcome == "posted":
        await repository.mark_used(conn, quote_id=quote_id, journal_id=journal_id)
    return posted


async def position_report(conn: Connection) -> FxPositionReport:
    currencies, pairs = await repository.positions(conn)
    return FxPositionReport(
        currencies=[FxPosition.model_validate(c) for c in currencies],
        pairs=[FxPair.model_validate(p) for p in pairs],
    )

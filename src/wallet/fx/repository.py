"""SQL for FX: rates, quotes, and the FX position."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from wallet.db.pool import Connection


async def upsert_rate(
    conn: Connection, *, base: str, quote: str, rate: Decimal, source: str, actor: str
) -> dict[str, Any]:
    row = await conn.fetchrow(
        """INSERT INTO fx_rates (base, quote, rate, source, set_by) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (base, quote) DO UPDATE
               SET rate = excluded.rate, source = excluded.source, set_by = excluded.set_by,
                   updated_at = now()
           RETURNING base, quote, rate::text AS rate, source, updated_at""",
        base,
        quote,
        rate,
        source,
        actor,
    )
    assert row is not None
    return dict(row)


async def find_rate(conn: Connection, *, base: str, quote: str) -> tuple[Decimal, bool] | None:
    """The stored rate for base -> quote, or the opposite one (then the flag is True)."""
    row = await conn.fetchrow(
        """SELECT rate, base <> $1 AS inverted FROM fx_rates
           WHERE (base, quote) IN (($1, $2), ($2, $1))
           ORDER BY base <> $1 LIMIT 1""",
        base,
        quote,
    )
    return (Decimal(row["rate"]), bool(row["inverted"])) if row else None


async def insert_quote(conn: Connection, **fields: Any) -> dict[str, Any]:
    row = await conn.fetchrow(
        """INSERT INTO fx_quotes (id, caller, from_wallet_id, to_wallet_id, from_currency,
                                  to_currency, sell_amount, buy_amount, spread_amount, rate,
                                  expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                   now() + make_interval(secs => $11))
           RETURNING id, from_wallet_id, to_wallet_id, from_currency, to_currency, sell_amount,
                     buy_amount, spread_amount AS spread, rate::text AS rate, expires_at""",
        fields["quote_id"],
        fields["caller"],
        fields["from_wallet_id"],
        fields["to_wallet_id"],
        fields["from_currency"],
        fields["to_currency"],
        fields["sell_amount"],
        fields["buy_amount"],
        fields["spread_amount"],
        fields["rate"],
        fields["ttl_seconds"],
    )
    assert row is not None
    return dict(row)


async def lock_quote(conn: Connection, *, quote_id: UUID) -> dict[str, Any] | None:
    """The quote, locked (one use at a time), with whether it has expired by the database's
    clock."""
    row = await conn.fetchrow(
        """SELECT *, expires_at <= now() AS expired FROM fx_quotes WHERE id = $1 FOR UPDATE""",
        quote_id,
    )
    return dict(row) if row else None


async def mark_used(conn: Connection, *, quote_id: UUID, journal_id: UUID) -> None:
    await conn.execute("UPDATE fx_quotes SET journal_id = $2 WHERE id = $1", quote_id, journal_id)


async def positions(conn: Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per currency the FX wallets' balance; per pair what the used quotes exchanged."""
    currencies = await conn.fetch(
        """SELECT currency, sum(balance)::bigint AS position FROM wallets
           WHERE kind = 'FX' GROUP BY currency ORDER BY currency"""
    )
    pairs = await conn.fetch(
        """SELECT from_currency, to_currency, count(*) AS exchanges,
                  sum(sell_amount)::bigint AS sold, sum(buy_amount)::bigint AS bought,
                  sum(spread_amount)::bigint AS spread
           FROM fx_quotes WHERE journal_id IS NOT NULL
           GROUP BY from_currency, to_currency ORDER BY from_currency, to_currency"""
    )
    return [dict(r) for r in currencies], [dict(r) for r in pairs]

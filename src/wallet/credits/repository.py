"""SQL for promotional credit (functions in sql/credits.sql)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from wallet.db.pool import Connection
from wallet.ledger.core import Posting
from wallet.ledger.repository import PostingResult, posting_record


async def grant(
    conn: Connection,
    *,
    posting: Posting,
    expires_at: datetime,
    category: str,
    campaign: str | None,
) -> PostingResult:
    """Post the grant's journal and record the grant; the body is the grant's JSON."""
    row = await conn.fetchrow(
        """SELECT outcome, status_code, body FROM credits_grant(
               jsonb_populate_record(NULL::ledger_posting, $1::jsonb), $2, $3, $4)""",
        posting_record(posting),
        expires_at,
        category,
        campaign,
    )
    assert row is not None
    return PostingResult(row["outcome"], row["status_code"], row["body"])


async def list_grants(
    conn: Connection, *, wallet_id: UUID, before: UUID | None, limit: int
) -> list[str]:
    """The wallet's grants as JSON text, newest first, before a keyset cursor."""
    rows = await conn.fetch(
        """SELECT credit_grant_json(g)::text AS body FROM credit_grants g
           WHERE g.wallet_id = $1 AND ($2::uuid IS NULL OR g.id < $2)
           ORDER BY g.id DESC LIMIT $3""",
        wallet_id,
        before,
        limit,
    )
    return [row["body"] for row in rows]


async def expire_due(conn: Connection, *, batch_size: int, trace_id: str) -> int:
    """Break one batch of wallets' expired grants (its own transaction); how many journals."""
    posted: int = await conn.fetchval("SELECT credits_expire($1, $2)", batch_size, trace_id)
    return posted

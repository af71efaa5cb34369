"""SQL for payouts (the journals go through the posting engine)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from wallet.db.pool import Connection


async def insert_run(conn: Connection, **fields: Any) -> None:
    await conn.execute(
        """INSERT INTO payout_runs (id, currency, threshold, owner_prefix, wallet_ids, created_by)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        fields["run_id"],
        fields["currency"],
        fields["threshold"],
        fields["owner_prefix"],
        fields["wallet_ids"],
        fields["created_by"],
    )


async def eligible_wallets(
    conn: Connection,
    *,
    currency: str,
    threshold: int,
    owner_prefix: str | None,
    wallet_ids: list[UUID] | None,
) -> list[dict[str, Any]]:
    """User wallets whose cash (withdrawable without the credit limit: a payout never pays
    out credit) is above the threshold. The engine checks again under the locks."""
    rows = await conn.fetch(
        """SELECT id, owner_id, least(balance - held, balance - promotional) AS cash
           FROM wallets
           WHERE kind = 'USER' AND status = 'ACTIVE' AND currency = $1
             AND ($3::text IS NULL OR starts_with(owner_id, $3))
             AND ($4::uuid[] IS NULL OR id = ANY($4))
             AND least(balance - held, balance - promotional) > $2
           ORDER BY id""",
        currency,
        threshold,
        owner_prefix,
        wallet_ids,
    )
    return [dict(row) for row in rows]


async def insert_payouts(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    await conn.executemany(
        """INSERT INTO payouts (id, run_id, wallet_id, owner_id, currency, amount)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        rows,
    )


async def claim(
    conn: Connection, *, limit: int, retry_after_seconds: float
) -> list[dict[str, Any]]:
    """Mark up to ``limit`` open payouts SENT (PENDING ones, and SENT ones not asked for a
    while) and return them; SKIP LOCKED, so workers share the work."""
    rows = await conn.fetch(
        """UPDATE payouts SET status = 'SENT', attempts = attempts + 1, updated_at = now()
           WHERE id IN (SELECT id FROM payouts
                        WHERE status = 'PENDING'
                           OR (status = 'SENT'
                               AND updated_at <= now() - make_interval(secs => $2))
                        ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING id, wallet_id, owner_id, currency, amount""",
        limit,
        retry_after_seconds,
    )
    return [dict(row) for row in rows]


async def lock_payout(conn: Connection, *, payout_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM payouts WHERE id = $1 FOR UPDATE", payout_id)
    return dict(row) if row else None


async def settle(conn: Connection, *, payout_id: UUID, status: str, reason: str | None) -> None:
    await conn.execute(
        """UPDATE payouts SET status = $2, failure_reason = $3, updated_at = now()
           WHERE id = $1""",
        payout_id,
        status,
        reason,
    )


async def find_run(conn: Connection, *, run_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT r.id, r.currency, r.threshold, r.owner_prefix, r.created_at,
                  coalesce(jsonb_object_agg(p.status, p.n) FILTER (WHERE p.status IS NOT NULL),
                           '{}') AS payouts,
                  coalesce(jsonb_object_agg(p.status, p.total)
                               FILTER (WHERE p.status IS NOT NULL), '{}') AS totals
           FROM payout_runs r
           LEFT JOIN (SELECT run_id, status, count(*) AS n, sum(amount) AS total
                      FROM payouts WHERE run_id = $1 GROUP BY run_id, status) p
                  ON p.run_id = r.id
           WHERE r.id = $1
           GROUP BY r.id""",
        run_id,
    )
    return dict(row) if row else None


# One scheduled run at a time across workers: a transaction-level advisory lock.
_SCHEDULE_LOCK_KEY = 0x7061796F75747321  # "payouts!"


async def lock_schedule(conn: Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEDULE_LOCK_KEY)


async def last_run_at(conn: Connection, *, currency: str, created_by: str) -> Any:
    return await conn.fetchval(
        """SELECT max(created_at) FROM payout_runs WHERE currency = $1 AND created_by = $2""",
        currency,
        created_by,
    )

"""SQL for wallets."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from wallet.audit.schemas import RequestAudit
from wallet.db.pool import Connection

# Interpolated into the queries below (hence their noqa/nosec): a constant, never input.
# withdrawable: what may leave as cash, the engine's rule for a withdrawal (credits.sql):
# available, less the promotional credit not reserved by holds, within the credit limit.
_WALLET_COLUMNS = """id, owner_id, currency, balance, held, balance - held AS available,
                     promotional,
                     greatest(0, least(balance - held, balance - promotional) + credit_limit)
                         AS withdrawable,
                     credit_limit, status, version, metadata, created_at, updated_at"""


async def insert_wallet(
    conn: Connection,
    *,
    wallet_id: UUID,
    owner_id: str,
    currency: str,
    metadata: dict[str, Any],
    audit: RequestAudit,
) -> dict[str, Any] | None:
    """Create the wallet, its ``wallet.created`` event and audit row; None if it exists.

    The event leaves metadata out: it may hold personal data, which never goes to the broker.
    """
    row = await conn.fetchrow(
        f"""
        WITH created AS (
            INSERT INTO wallets (id, owner_id, currency, metadata, feed_xid)
            VALUES ($1, $2, $3, $4, pg_current_xact_id())  -- its wallet.created event's
            ON CONFLICT (owner_id, currency) WHERE kind = 'USER' DO NOTHING
            RETURNING {_WALLET_COLUMNS}
        ), event AS (
            INSERT INTO outbox (event_id, event_type, wallet_id, sequence, payload, trace_id)
            SELECT uuid_v7(), 'wallet.created', id, version,
                   jsonb_build_object('wallet', to_jsonb(created) - 'metadata'), $5
            FROM created
        ), audit AS (
            INSERT INTO audit_log (actor, action, resource_type, resource_id, outcome,
                                   client_address, trace_id)
            SELECT $6, 'wallet.create', 'wallet', (SELECT id::text FROM created),
                   CASE WHEN EXISTS (SELECT 1 FROM created) THEN 'created'
                        ELSE 'wallet_already_exists' END,
                   $7, $5
        )
        SELECT * FROM created
        """,  # noqa: S608  # nosec B608
        wallet_id,
        owner_id,
        currency,
        metadata,
        audit.trace_id,
        audit.actor,
        audit.client_address,
    )
    return dict(row) if row else None


async def find_wallet(
    conn: Connection, *, wallet_id: UUID, owner_scope: str | None
) -> dict[str, Any] | None:
    """A user wallet by id; with ``owner_scope`` only if that owner holds it."""
    row = await conn.fetchrow(
        f"""
        SELECT {_WALLET_COLUMNS} FROM wallets
        WHERE id = $1 AND kind = 'USER' AND ($2::text IS NULL OR owner_id = $2)
        """,  # noqa: S608  # nosec B608
        wallet_id,
        owner_scope,
    )
    return dict(row) if row else None


async def find_owner_wallets(
    conn: Connection, *, owner_id: str, after_currency: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """An owner's wallets by currency (wallets_one_per_owner_currency), after a keyset cursor."""
    rows = await conn.fetch(
        f"""
        SELECT {_WALLET_COLUMNS} FROM wallets
        WHERE owner_id = $1 AND kind = 'USER' AND ($2::text IS NULL OR currency > $2)
        ORDER BY currency LIMIT $3
        """,  # noqa: S608  # nosec B608
        owner_id,
        after_currency,
        limit,
    )
    return [dict(row) for row in rows]

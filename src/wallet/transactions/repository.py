"""SQL for transaction lookups and searches and for balances at an instant.

Searches are built from the filters given, so each combination is its own prepared statement
whose plan can use the index that serves it (``$n IS NULL OR ...`` would force one generic
plan for all). Only numbered placeholders are interpolated; every value is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from wallet.db.pool import Connection


@dataclass(frozen=True, slots=True)
class Filters:
    reference_id: str | None = None
    category: str | None = None
    type: str | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    metadata: dict[str, str] = field(default_factory=dict)  # key: string value


@dataclass(frozen=True, slots=True)
class Found:
    created_at: datetime
    position: str  # the journal id, or the entry id on a wallet's walk
    body: str


class _Query:
    """Conditions with their parameters, numbered as they are added."""

    def __init__(self, *args: Any) -> None:
        self.args: list[Any] = list(args)
        self.conditions: list[str] = []

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def journal_filters(self, filters: Filters, *, time_column: str) -> None:
        if filters.reference_id is not None:
            self.conditions.append(f"j.reference_id = {self.param(filters.reference_id)}")
        if filters.category is not None:
            self.conditions.append(f"j.category = {self.param(filters.category)}")
        if filters.type is not None:
            self.conditions.append(f"j.type = {self.param(filters.type)}")
        if filters.created_from is not None:
            self.conditions.append(f"{time_column} >= {self.param(filters.created_from)}")
        if filters.created_to is not None:
            self.conditions.append(f"{time_column} < {self.param(filters.created_to)}")
        if filters.metadata:
            # The partial GIN index's predicate, stated so the planner may use it.
            self.conditions.append("j.metadata <> '{}'::jsonb")
            contained = self.param(filters.metadata)  # the pool's codec encodes jsonb
            self.conditions.append(f"j.metadata @> {contained}::jsonb")

    @property
    def where(self) -> str:
        return " AND ".join(self.conditions) or "true"


async def find_transaction(
    conn: Connection, *, transaction_id: UUID, owner_scope: str | None
) -> tuple[str, list[str]] | None:
    """The transaction and the wallets of ``owner_scope`` it touched (None: any caller,
    no wallets listed); None if it does not exist or touched none of the owner's wallets."""
    row = await conn.fetchrow(
        """
        SELECT d.body,
               ARRAY(SELECT e.wallet_id::text FROM entries e
                     JOIN wallets w ON w.id = e.wallet_id
                     WHERE e.journal_id = d.id AND w.owner_id = $2) AS own
        FROM transaction_documents d WHERE d.id = $1
        """,
        transaction_id,
        owner_scope,
    )
    if row is None or (owner_scope is not None and not row["own"]):
        return None
    return row["body"], list(row["own"])


async def search_journals(
    conn: Connection, *, filters: Filters, before: tuple[datetime, UUID] | None, limit: int
) -> list[Found]:
    """Every transaction matching ``filters``, newest first, after a keyset position."""
    query = _Query(limit)
    query.journal_filters(filters, time_column="j.created_at")
    if before is not None:
        query.conditions.append(
            f"(j.created_at, j.id) < ({query.param(before[0])}, {query.param(before[1])})"
        )
    rows = await conn.fetch(
        f"""
        WITH page AS (
            SELECT j.id, j.created_at FROM journals j
            WHERE {query.where}
            ORDER BY j.created_at DESC, j.id DESC
            LIMIT $1
        )
        SELECT page.created_at, page.id::text AS position, d.body
        FROM page JOIN transaction_documents d ON d.id = page.id
        ORDER BY page.created_at DESC, page.id DESC
        """,  # noqa: S608 - only numbered placeholders and constant SQL are interpolated  # nosec B608
        *query.args,
    )
    return [Found(row["created_at"], row["position"], row["body"]) for row in rows]


async def search_wallets(
    conn: Connection,
    *,
    wallet_ids: list[UUID],
    filters: Filters,
    before: tuple[datetime, int] | None,
    limit: int,
) -> list[Found]:
    """The transactions that touched any of ``wallet_ids``, newest first, walking each
    wallet's entries by (created_at, id) (entries_pkey, migrations/0013) and merging the walks."""
    query = _Query(limit, wallet_ids)
    query.conditions.append("e.wallet_id = w.id")
    query.journal_filters(filters, time_column="e.created_at")
    if before is not None:
        query.conditions.append(
            f"(e.created_at, e.id) < ({query.param(before[0])}, {query.param(before[1])})"
        )
    rows = await conn.fetch(
        f"""
        WITH page AS (
            SELECT hit.* FROM unnest($2::uuid[]) AS w(id)
            CROSS JOIN LATERAL (
                SELECT e.created_at, e.id, e.journal_id
                FROM entries e JOIN journals j ON j.id = e.journal_id
                WHERE {query.where}
                ORDER BY e.created_at DESC, e.id DESC
                LIMIT $1
            ) AS hit
            ORDER BY hit.created_at DESC, hit.id DESC
            LIMIT $1
        )
        SELECT page.created_at, page.id::text AS position, d.body
        FROM page JOIN transaction_documents d ON d.id = page.journal_id
        ORDER BY page.created_at DESC, page.id DESC
        """,  # noqa: S608 - only numbered placeholders and constant SQL are interpolated  # nosec B608
        *query.args,
    )
    return [Found(row["created_at"], row["position"], row["body"]) for row in rows]


async def balance_at(conn: Connection, *, wallet_id: UUID, at: datetime) -> tuple[int, int]:
    """Balance and held after the wallet's latest entry at or before ``at`` (0, 0 before
    its first): one descent of entries_pkey, whatever the history's length."""
    row = await conn.fetchrow(
        """
        SELECT e.balance_after, e.held_after FROM entries e
        WHERE e.wallet_id = $1 AND e.created_at <= $2
        ORDER BY e.created_at DESC, e.id DESC
        LIMIT 1
        """,
        wallet_id,
        at,
    )
    if row is None:
        return 0, 0
    return int(row["balance_after"]), int(row["held_after"])

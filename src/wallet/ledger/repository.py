"""SQL for the ledger: the posting function and the wallet's entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from wallet.db.pool import Connection
from wallet.ledger.core import Posting


@dataclass(frozen=True, slots=True)
class PostingResult:
    outcome: str  # 'posted', 'replayed' or an error code
    status_code: int
    body: str | None


def _posting_record(posting: Posting) -> tuple[Any, ...]:
    context = posting.context
    legs = [
        (
            leg.wallet_id,
            leg.system_kind.value if leg.system_kind else None,
            leg.amount,
            leg.held_delta,
        )
        for leg in posting.legs
    ]
    return (
        context.caller,
        context.idempotency_key,
        context.fingerprint,
        posting.journal_id,
        posting.journal_type,
        posting.event_type,
        posting.wallet_id,
        context.required_owner,
        posting.amount,
        posting.reference_id,
        posting.category,
        posting.metadata,
        posting.hold_id,
        posting.related_journal_id,
        context.trace_id,
        legs,
    )


async def post(conn: Connection, postings: list[Posting]) -> list[PostingResult]:
    """Apply ``postings`` in one statement: one round trip, one transaction.

    Each posting that is not a replay also appends its audit row in that statement.
    """
    rows = await conn.fetch(
        """SELECT outcome, status_code, body
           FROM ledger_post_audited($1::ledger_posting[], $2::text[])""",
        [_posting_record(posting) for posting in postings],
        [posting.context.client_address for posting in postings],
    )
    return [PostingResult(row["outcome"], row["status_code"], row["body"]) for row in rows]


async def wallet_entries(
    conn: Connection, *, wallet_id: UUID, before_entry_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """A wallet's entries with their journals, newest first, before a keyset cursor."""
    rows = await conn.fetch(
        """
        SELECT e.id, e.journal_id, j.type, e.amount, e.currency, e.balance_before,
               e.balance_after, e.held_before, e.held_after, j.reference_id, j.category,
               j.hold_id, j.trace_id, e.created_at
        FROM entries e JOIN journals j ON j.id = e.journal_id
        WHERE e.wallet_id = $1 AND ($2::bigint IS NULL OR e.id < $2)
        ORDER BY e.id DESC
        LIMIT $3
        """,
        wallet_id,
        before_entry_id,
        limit,
    )
    return [dict(row) for row in rows]

"""SQL for the audit trail: appending records and sealing the chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from wallet.audit.schemas import AuditRecord, Finding
from wallet.db.pool import Connection, Pool


async def append(executor: Connection | Pool, record: AuditRecord) -> None:
    """One record, through the one SQL path every audit row takes (audit_append)."""
    await executor.execute(
        "SELECT audit_append($1::jsonb)",
        [
            {
                "actor": record.actor,
                "action": record.action,
                "resource_type": record.resource_type,
                "resource_id": record.resource_id,
                "outcome": record.outcome,
                "client_address": record.client_address,
                "trace_id": record.trace_id,
                "details": record.details,
            }
        ],
    )


async def seal(conn: Connection, *, limit: int, settle: timedelta) -> int:
    """Link up to ``limit`` unsealed rows into the chain; how many were sealed."""
    sealed: int = await conn.fetchval("SELECT audit_seal($1, $2)", limit, settle)
    return sealed


# Each check below names rows by id. Run them in one REPEATABLE READ transaction so they see
# one consistent state of the books.

_AUDIT_CHECKS = """
SELECT 'audit_log' AS tbl, s.audit_id::text AS row, 'removed' AS problem,
       'a sealed audit row is missing' AS detail
FROM audit_seals s LEFT JOIN audit_log a ON a.id = s.audit_id WHERE a.id IS NULL
UNION ALL
SELECT 'audit_log', a.id::text, 'changed', 'the row no longer matches its seal'
FROM audit_seals s JOIN audit_log a ON a.id = s.audit_id
WHERE audit_row_hash(s.prev_hash, a) <> s.row_hash
UNION ALL
SELECT 'audit_log', a.id::text, 'inserted', 'an unsealed row inside the sealed history'
FROM audit_log a LEFT JOIN audit_seals s ON s.audit_id = a.id
WHERE s.audit_id IS NULL AND a.id < (SELECT max(audit_id) FROM audit_seals)
UNION ALL
SELECT 'audit_seals', audit_id::text, 'chain_broken',
       'the seal does not follow the one before it: a row was removed or inserted before it'
FROM (SELECT audit_id, prev_hash,
             lag(row_hash, 1, '\\x'::bytea) OVER (ORDER BY audit_id) AS expected
      FROM audit_seals) chain
WHERE prev_hash <> expected
"""

_ENTRY_CHECKS = """
WITH walked AS (
    SELECT e.id, e.wallet_id, e.row_hash, e.balance_before, e.held_before,
           j.id IS NULL AS journal_missing,
           -- Each entry's hash covers the one before it in its wallet's chain: recomputing it
           -- from that row's stored hash checks the entry, its journal and the link at once.
           entry_row_hash(coalesce(lag(e.row_hash) OVER w, '\\x'::bytea), e, j) AS recomputed,
           lag(e.balance_after) OVER w AS prior_balance,
           lag(e.held_after) OVER w AS prior_held
    FROM entries e LEFT JOIN journals j ON j.id = e.journal_id
    WINDOW w AS (PARTITION BY e.wallet_id ORDER BY e.id)
), judged AS (
    SELECT id, CASE
        WHEN journal_missing THEN 'journal_removed'
        WHEN NOT entry_hash_matches(row_hash, recomputed) THEN 'changed'
        WHEN balance_before <> coalesce(prior_balance, 0)
             OR held_before <> coalesce(prior_held, 0) THEN 'balance_discontinuity'
        END AS problem
    FROM walked
)
SELECT 'entries' AS tbl, id::text AS row, problem,
       CASE problem
           WHEN 'journal_removed' THEN 'the entry''s journal is missing'
           WHEN 'changed' THEN 'the entry, its journal or the link to the entry before it no '
                               || 'longer matches its hash: it was edited, or an entry of this '
                               || 'wallet just before it was removed or inserted'
           ELSE 'balance_before does not continue the wallet''s previous entry'
       END AS detail
FROM judged WHERE problem IS NOT NULL
UNION ALL
SELECT 'wallets', w.id::text, 'head_mismatch',
       'balance, held or chain head differ from the newest entry: an entry was removed or added'
FROM wallets w
LEFT JOIN LATERAL (SELECT balance_after, held_after, row_hash FROM entries
                   WHERE wallet_id = w.id ORDER BY id DESC LIMIT 1) newest ON true
WHERE w.balance <> coalesce(newest.balance_after, 0) OR w.held <> coalesce(newest.held_after, 0)
   OR w.chain_head IS DISTINCT FROM newest.row_hash
UNION ALL
SELECT 'journals', j.id::text, 'entries_removed', 'the journal has no entries'
FROM journals j WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.journal_id = j.id)
UNION ALL
SELECT 'journals', journal_id::text, 'unbalanced', 'entries do not sum to zero in ' || currency
FROM entries GROUP BY journal_id, currency HAVING sum(amount) <> 0
"""


async def find_tampering(conn: Connection) -> list[Finding]:
    """Every row of the audit trail and the ledger that breaks its chain or the books."""
    return [finding async for finding in stream_tampering(conn)]


async def stream_tampering(conn: Connection) -> AsyncIterator[Finding]:
    """The same, one row at a time through a server-side cursor: memory stays bounded
    however much was tampered with. Inside the caller's transaction (as a savepoint) when
    there is one, so that it sees the caller's snapshot."""
    async with conn.transaction():
        for query in (_AUDIT_CHECKS, _ENTRY_CHECKS):
            async for r in conn.cursor(query, prefetch=500):
                yield Finding(
                    table=r["tbl"], row=r["row"], problem=r["problem"], detail=r["detail"]
                )

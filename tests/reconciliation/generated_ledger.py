"""A large, consistent ledger generated inside PostgreSQL, through the posting engine.

``wallets`` user wallets each get a deposit, then transfers of 1..100 between random pairs
make up ``journals`` journals in all (two entries each). The postings are generated with
generate_series and applied by ``ledger_post`` in batches, so the ledger is exactly what the
service writes: balanced journals, balances running on from entry to entry, hash chains, one
event per user wallet touched. Used by the memory test (small) and by ``bench/reconcile.py``
(a million entries).
"""

from __future__ import annotations

from wallet.db.pool import Connection

_BATCH = 1_000

_CREATE_WALLETS = """
CREATE TEMP TABLE gen_wallets ON COMMIT DROP AS
SELECT n, uuid_v7() AS id FROM generate_series(1, $1::int) AS n;
"""

_INSERT_WALLETS = (
    "INSERT INTO wallets (id, owner_id, currency) SELECT id, $2 || n, $1 FROM gen_wallets"
)

# Postings first..last: deposits for n <= wallets (from EXTERNAL), then transfers between
# distinct random wallets.
_POST = """
SELECT count(*) FROM ledger_post(ARRAY(
    SELECT jsonb_populate_record(NULL::ledger_posting, jsonb_build_object(
        'caller', 'generator', 'journal_id', uuid_v7(), 'trace_id', 'generated',
        'journal_type', CASE WHEN p.src IS NULL THEN 'DEPOSIT' ELSE 'TRANSFER' END,
        'event_type', CASE WHEN p.src IS NULL THEN 'wallet.deposit.completed'
                           ELSE 'wallet.transfer.completed' END,
        'wallet_id', coalesce(s.id, d.id), 'amount', p.amount, 'audit_refusal', false,
        'legs', jsonb_build_array(
            jsonb_build_object('wallet_id', s.id,
                               'system_kind', CASE WHEN p.src IS NULL THEN 'EXTERNAL' END,
                               'amount', -p.amount, 'held_delta', 0),
            jsonb_build_object('wallet_id', d.id, 'amount', p.amount, 'held_delta', 0))))
    FROM (SELECT n,
                 CASE WHEN n <= w THEN NULL ELSE pick END AS src,
                 CASE WHEN n <= w THEN n ELSE (pick + floor(random() * (w - 1))::int) % w + 1
                 END AS dst,
                 CASE WHEN n <= w THEN 1000000 ELSE 1 + floor(random() * 100)::int END AS amount
          FROM (SELECT n, $1::int AS w, 1 + floor(random() * $1::int)::int AS pick
                FROM generate_series($2::int, $3::int) AS n) AS picked) AS p
    JOIN gen_wallets d ON d.n = p.dst LEFT JOIN gen_wallets s ON s.n = p.src
    ORDER BY p.n))
"""


async def generate_ledger(
    conn: Connection, *, wallets: int, journals: int, currency: str, owner_prefix: str
) -> int:
    """Write the ledger in one transaction; returns the number of entries written."""
    if journals < wallets or wallets < 2:
        raise ValueError("need at least two wallets and one deposit per wallet")
    async with conn.transaction():
        await conn.execute(_CREATE_WALLETS, wallets)
        await conn.execute(_INSERT_WALLETS, currency, owner_prefix)
        for first in range(1, journals + 1, _BATCH):
            last = min(first + _BATCH - 1, journals)
            await conn.execute(_POST, wallets, first, last)
    return 2 * journals

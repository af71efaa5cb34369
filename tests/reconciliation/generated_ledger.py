"""A large, consistent ledger generated inside PostgreSQL (generate_series), for measuring.

``wallets`` user wallets each get a deposit, then transfers of 1..100 between random pairs
make up ``journals`` journals in all (two entries each): journals balance, every entry's
balance before/after runs on from the previous one, every wallet's balance is the sum of its
entries, and every journal has its outbox event. Used by the memory test (small) and by
``bench/reconcile.py`` (a million entries).
"""

from __future__ import annotations

from typing import Any

from wallet.db.pool import Connection

_STEPS = (
    """CREATE TEMP TABLE gen_wallets ON COMMIT DROP AS
       SELECT n, uuid_v7() AS id FROM generate_series(1, $1::int) AS n""",
    """INSERT INTO wallets (id, owner_id, currency)
       SELECT id, $2 || n, $1 FROM gen_wallets""",
    # Deposits first (n <= wallets, from EXTERNAL), then transfers between distinct wallets.
    """CREATE TEMP TABLE gen_journals ON COMMIT DROP AS
       SELECT n, uuid_v7() AS id, src, dst, amount FROM (
           SELECT n,
                  CASE WHEN n <= w THEN NULL ELSE pick END AS src,
                  CASE WHEN n <= w THEN n ELSE (pick + floor(random() * (w - 1))::int) % w + 1
                  END AS dst,
                  CASE WHEN n <= w THEN 1000000 ELSE 1 + floor(random() * 100)::int END AS amount
           FROM (SELECT n, $1::int AS w, 1 + floor(random() * $1::int)::int AS pick
                 FROM generate_series(1, $2::int) AS n) AS picked) AS planned""",
    """CREATE TEMP TABLE gen_legs ON COMMIT DROP AS
       SELECT j.n, 0 AS leg, coalesce(s.id, system_wallet_id('EXTERNAL', $1)) AS wallet_id,
              -j.amount::bigint AS amount
       FROM gen_journals j LEFT JOIN gen_wallets s ON s.n = j.src
       UNION ALL
       SELECT j.n, 1, d.id, j.amount FROM gen_journals j JOIN gen_wallets d ON d.n = j.dst""",
    """INSERT INTO journals (id, type, wallet_id, amount, currency, trace_id)
       SELECT j.id, CASE WHEN j.src IS NULL THEN 'DEPOSIT' ELSE 'TRANSFER' END,
              coalesce(s.id, d.id), j.amount, $1, 'generated'
       FROM gen_journals j JOIN gen_wallets d ON d.n = j.dst LEFT JOIN gen_wallets s ON s.n = j.src
       ORDER BY j.n""",
    """INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before,
                           balance_after, held_before, held_after)
       SELECT j.id, l.wallet_id, $1, l.amount, l.running - l.amount, l.running, 0, 0
       FROM (SELECT gen_legs.*, w.balance + sum(gen_legs.amount)
                        OVER (PARTITION BY gen_legs.wallet_id ORDER BY n, leg) AS running
             FROM gen_legs JOIN wallets w ON w.id = gen_legs.wallet_id) AS l
       JOIN gen_journals j ON j.n = l.n
       ORDER BY l.n, l.leg""",
    """INSERT INTO outbox (event_id, event_type, wallet_id, sequence, journal_id, payload,
                          trace_id)
       SELECT gen_random_uuid(), 'generated', l.wallet_id,
              1 + row_number() OVER (PARTITION BY l.wallet_id ORDER BY l.n), j.id, '{}',
              'generated'
       FROM gen_legs l JOIN gen_journals j ON j.n = l.n JOIN gen_wallets w ON w.id = l.wallet_id""",
    """UPDATE wallets w SET balance = w.balance + t.total, version = w.version + t.moves
       FROM (SELECT wallet_id, sum(amount) AS total, count(*) AS moves
             FROM gen_legs GROUP BY wallet_id) AS t
       WHERE w.id = t.wallet_id""",
)

_ARGUMENTS = ((0,), (1, 2), (0, 3), (1,), (1,), (1,), (), ())


async def generate_ledger(
    conn: Connection, *, wallets: int, journals: int, currency: str, owner_prefix: str
) -> int:
    """Write the ledger in one transaction; returns the number of entries written."""
    if journals < wallets or wallets < 2:
        raise ValueError("need at least two wallets and one deposit per wallet")
    values: tuple[Any, ...] = (wallets, currency, owner_prefix, journals)
    async with conn.transaction():
        for sql, picks in zip(_STEPS, _ARGUMENTS, strict=True):
            await conn.execute(sql, *(values[i] for i in picks))
    return 2 * journals

"""Lookups and postings on a long history: do the read indexes keep reads flat and postings fast?

Makes a new database, writes ``--journals`` transfers between ``--wallets`` wallets straight
into journals and entries (generate_series, in chunks; balances run on from entry to entry;
a tenth of the journals carry a reference; the history spans the last 30 days), then starts
``wallet serve`` and drives it with wrk (bench/transfers.py's script):

- ``balance_at``: ``GET /v1/wallets/{id}/balance?at=`` at a random instant of the history;
- ``search``: ``GET /v1/transactions?wallet_id=&limit=50``, the newest page of a wallet;

and finally runs bench/transfers.py (uniform transfers, twice) on the same database, so
postings pay for every index at that size. Run it at two sizes and compare:

    .venv/bin/python bench/lookups.py --database-url postgresql://postgres@127.0.0.1/lookups \\
        --journals 10000
    .venv/bin/python bench/lookups.py --database-url ... --journals 10000000

The generated rows skip the engine (and so carry no hash chain or events): they stand for
history, which postings and reads only meet through the indexes. ``--database-url`` names a
database this drops and creates again.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transfers as common
from tracing_ab import recreate_database

HISTORY_DAYS = 30
CHUNK = 500_000

_WALLETS = """
CREATE TABLE gen_wallets AS SELECT n, uuid_v7() AS id FROM generate_series(1, $1::int) AS n
"""

_SETUP = """
ALTER TABLE gen_wallets ADD PRIMARY KEY (n);
INSERT INTO wallets (id, owner_id, currency) SELECT id, 'history-' || n, 'USD' FROM gen_wallets;
CREATE TABLE gen_running AS SELECT id AS wallet_id, 1000000000000::bigint AS balance
                            FROM gen_wallets;
ALTER TABLE gen_running ADD PRIMARY KEY (wallet_id);
"""

# Journals first..last: transfers of 1..100 between distinct random wallets, created at evenly
# spaced instants of the history; each journal with its two entries in one statement, as the
# engine writes them (the double-entry check runs per statement). The legs first: the only
# statement with parameters (asyncpg sends several statements only without any).
_LEGS = """
CREATE TEMP TABLE gen_legs ON COMMIT DROP AS
WITH picked AS (
    SELECT n, uuid_v7() AS journal_id, 1 + floor(random() * 100)::int AS amount,
           $4::timestamptz + (n - 1) * ($5::interval / $3::int) AS created_at,
           1 + floor(random() * $6::int)::int AS a, 1 + floor(random() * ($6::int - 1))::int AS b
    FROM generate_series($1::int, $2::int) AS n
)
SELECT p.n, p.journal_id, p.amount AS journal_amount, p.created_at, leg.k, leg.wallet_id,
       leg.amount, s.id AS source
FROM picked p
JOIN gen_wallets s ON s.n = p.a
JOIN gen_wallets d ON d.n = 1 + (p.a + p.b - 1) % $6::int
CROSS JOIN LATERAL (VALUES (0, s.id, -p.amount), (1, d.id, p.amount)) AS leg(k, wallet_id, amount)
"""

_WRITE = """
WITH written AS (
    INSERT INTO journals (id, type, wallet_id, amount, currency, reference_id, trace_id, actor,
                          created_at)
    SELECT journal_id, 'TRANSFER', source, journal_amount, 'USD',
           CASE WHEN n % 10 = 0 THEN 'ride-' || n END, 'generated', 'generator', created_at
    FROM gen_legs WHERE k = 0
), running AS (
    SELECT l.*, r.balance + sum(l.amount) OVER (PARTITION BY l.wallet_id ORDER BY l.n, l.k)
               AS balance_after
    FROM gen_legs l JOIN gen_running r ON r.wallet_id = l.wallet_id
)
INSERT INTO entries (journal_id, wallet_id, currency, amount, balance_before, balance_after,
                     held_before, held_after, created_at)
SELECT journal_id, wallet_id, 'USD', amount, balance_after - amount, balance_after, 0, 0,
       created_at
FROM running ORDER BY n, k;

UPDATE gen_running r SET balance = r.balance + moved.amount
FROM (SELECT wallet_id, sum(amount) AS amount FROM gen_legs GROUP BY wallet_id) AS moved
WHERE r.wallet_id = moved.wallet_id;
"""

_FINISH = """
UPDATE wallets w SET balance = r.balance FROM gen_running r WHERE w.id = r.wallet_id;
DROP TABLE gen_running;
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a database this may recreate")
    parser.add_argument("--journals", type=int, default=10_000_000)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--transfer-seconds", type=int, default=20)
    return parser.parse_args()


async def generate(url: str, journals: int, wallets: int) -> tuple[list[str], float, float]:
    """The history; returns a sample of its wallets and its first and last instants (epoch)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(_WALLETS, wallets)
        await conn.execute(_SETUP)
        span = timedelta(days=HISTORY_DAYS)
        started = await conn.fetchval("SELECT now() - $1::interval", span)
        for first in range(1, journals + 1, CHUNK):
            last = min(first + CHUNK - 1, journals)
            async with conn.transaction():
                await conn.execute(_LEGS, first, last, journals, started, span, wallets)
                await conn.execute(_WRITE)
            print(f"generated journals={last}", flush=True)
        await conn.execute(_FINISH)
        await conn.execute("VACUUM ANALYZE")
        # Generation dirtied gigabytes: written out now rather than during the measured runs.
        await conn.execute("CHECKPOINT")
        sample = [
            str(row["id"])
            for row in await conn.fetch("SELECT id FROM gen_wallets ORDER BY n LIMIT 1000")
        ]
        ended = await conn.fetchval("SELECT max(created_at) FROM journals")
        return sample, started.timestamp(), ended.timestamp()
    finally:
        await conn.close()


def database_size(url: str) -> int:
    async def size() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
        finally:
            await conn.close()

    return asyncio.run(size())


def main() -> None:
    args = parse_args()
    asyncio.run(recreate_database(args.database_url))
    from wallet.db.migrations import apply_migrations

    apply_migrations(args.database_url)
    began = time.perf_counter()
    wallets, history_from, history_to = asyncio.run(
        generate(args.database_url, args.journals, args.wallets)
    )
    print(
        f"journals={args.journals} entries={2 * args.journals} "
        f"generated_in_s={time.perf_counter() - began:.0f} "
        f"database_bytes={database_size(args.database_url)}"
    )
    load_args = argparse.Namespace(
        port=8765, workers=2, wrk_threads=1, connections=args.connections,
        seconds=args.seconds,
    )  # fmt: skip
    server = common.start_server(args.database_url, load_args)
    try:
        base = f"http://127.0.0.1:{load_args.port}"
        common.wait_ready(base)
        token = common.bearer_token()
        for mode in ("balance_at", "search"):
            load_args.mode = mode
            history = (int(history_from), int(history_to))
            load = common.run_wrk(load_args, base, wallets, token, history=history)
            done = sum(load.statuses.values())
            print(
                f"read={mode} per_s={done / args.seconds:.0f} p50_ms={load.p50_ms:.1f} "
                f"p99_ms={load.p99_ms:.1f} statuses={load.statuses}"
            )
    finally:
        server.terminate()
        server.wait(timeout=60)
    command = [sys.executable, str(Path(__file__).resolve().parent / "transfers.py")]
    command += ["--database-url", args.database_url, "--mode", "uniform"]
    command += ["--seconds", str(args.transfer_seconds), "--floor-seconds", "10"]
    # Twice, to show a warm-up if there is one: before the engine ruled out sequential scans,
    # the first run after generating went at half the rate at every size (a generic plan made
    # while the outbox was empty, ledger.sql), the second as on a new database.
    for run in (1, 2):
        print(f"posting_run={run}")
        print(subprocess.run(command, capture_output=True, text=True, check=True).stdout, end="")


if __name__ == "__main__":
    main()

"""Reconciliation on a large generated ledger: how long it takes, how much memory it needs.

Creates a fresh database on the server, generates a consistent ledger inside PostgreSQL
(``generate_series``: deposits, then random transfers; two entries per journal, every journal
with its outbox event), then runs one reconciliation in a child process and prints the time
and that process's peak resident memory (``ru_maxrss``). The database is dropped afterwards.

    .venv/bin/python bench/reconcile.py --database-url postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python bench/reconcile.py --entries 200000     # embedded PostgreSQL

Generation runs with ``session_replication_role = replica`` (superuser) to skip per-row
triggers, which would only slow it down: the generated rows satisfy what they check, and the
entries' hash chains are computed afterwards in one pass.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import asyncpg  # noqa: E402
import psycopg  # noqa: E402

from tests.conftest import _with_database  # noqa: E402
from tests.reconciliation.generated_ledger import generate_ledger  # noqa: E402
from wallet.db.embedded import ensure_database, start_embedded_server  # noqa: E402
from wallet.db.migrations import apply_migrations  # noqa: E402

# The per-row trigger that hash-chains entries was skipped while generating; chain them now,
# wallet by wallet in id order, exactly as the trigger would have.
_CHAIN_ENTRIES = r"""
DO $$
DECLARE
    e           entries;
    journal     journals;
    prev        bytea;
    last_wallet uuid;
BEGIN
    FOR e IN SELECT * FROM entries ORDER BY wallet_id, id LOOP
        IF last_wallet IS DISTINCT FROM e.wallet_id THEN
            prev := '\x'::bytea;
            last_wallet := e.wallet_id;
        END IF;
        SELECT * INTO journal FROM journals WHERE id = e.journal_id;
        UPDATE entries SET row_hash = entry_row_hash(prev, e, journal)
            WHERE id = e.id RETURNING row_hash INTO prev;
    END LOOP;
END $$
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="server to use; default: embedded PostgreSQL")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--run-only", help=argparse.SUPPRESS)  # the child: reconcile this URL
    return parser.parse_args()


async def generate(url: str, *, entries: int, wallets: int) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET session_replication_role = replica")
        await generate_ledger(
            conn, wallets=wallets, journals=entries // 2, currency="EUR", owner_prefix="bench-"
        )
        await conn.execute(_CHAIN_ENTRIES)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def reconcile(url: str, batch_size: int) -> dict[str, object]:
    from wallet.db.pool import create_pool
    from wallet.reconciliation.tasks import RunLimits, run_reconciliation

    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        started = time.perf_counter()
        run = await run_reconciliation(
            pool,
            limits=RunLimits(batch_size=batch_size, max_findings=1000, outbox_window_hours=24),
            trigger="cli",
            requested_by="bench",
            trace_id="bench",
        )
        seconds = time.perf_counter() - started
    finally:
        await pool.close()
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "wallets": run.wallets_checked,
        "entries": run.entries_checked,
        "journals": run.journals_checked,
        "findings": run.findings_count,
    }


def main() -> None:
    args = parse_args()
    if args.run_only:
        print(json.dumps(asyncio.run(reconcile(args.run_only, args.batch_size))))
        return
    server = args.database_url or start_embedded_server(ROOT / ".wallet-bench")
    name = f"wallet_bench_reconcile_{uuid4().hex[:8]}"
    ensure_database(server, name)
    url = _with_database(server, name)
    try:
        apply_migrations(url)
        generated = asyncio.run(generate(url, entries=args.entries, wallets=args.wallets))
        print(f"generated {args.entries} entries, {args.wallets} wallets in {generated:.1f}s")
        child = subprocess.run(  # a process of its own, so its peak memory is the run's alone
            [sys.executable, __file__, "--run-only", url, "--batch-size", str(args.batch_size)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        print("reconciliation:", ", ".join(f"{key}={value}" for key, value in figures.items()))
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

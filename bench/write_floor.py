"""The write floor: the rows a batch of transfers must write, and nothing else, through pgbench.

What no posting engine of this schema can beat on the server it runs on: per transfer, the rows
the guarantees need (a journal, two entries, two events, an idempotency key, two wallet
updates; with ``--keys batch``, as ``POST /v1/batches`` writes them, one key per batch
instead), written set-based into tables shaped and indexed exactly like the real ones (copied
with LIKE, so every index the API's reads need is kept up), with the batch's wallets locked in
id order first as any writer must. No decisions, no balance or hash computation, no triggers,
no HTTP: constants where the engine computes. Printed beside ``bench/posting.py``'s shape of
figures (batches, clients, postings/s), with the CPU every PostgreSQL process on the machine
spent per posting (run it on a quiet machine), and the raw-SQL floor measured in the same run.

    .venv/bin/python bench/write_floor.py --database-url postgresql://postgres@127.0.0.1/bench
    .venv/bin/python bench/write_floor.py --database-url … --wallets 2000 --batches 1000 \\
        --keys batch
"""

from __future__ import annotations

import argparse

import psycopg
from posting import ROOT, measure_floor, pgbench_tps, prepare, tools
from transfers import cpu_seconds, postgres_pids

TABLES = ("journals", "entries", "outbox", "idempotency_keys", "wallets")

# Both statements pick the same wallets from :seed: transfer k moves 1 from wallet pick(2k-1)
# to wallet pick(2k), a multiplicative spread over bench_wallets' numbers (random enough that
# batches collide as random ones do, and cheap next to the writes).
PICK = "1 + (:seed::bigint * {k} * 7919 + {k}) % {wallets}"

BATCH = """\\set seed random(1, 100000000)
BEGIN;
SELECT count(*) FROM (
    SELECT w.id FROM write_floor_wallets w JOIN bench_wallets b ON b.id = w.id
    WHERE b.n IN (SELECT {pick_any} FROM generate_series(1, 2 * {batch}) AS g)
    ORDER BY w.id FOR UPDATE) AS locked;
WITH pairs AS MATERIALIZED (
    SELECT g, uuid_v7() AS journal, source.id AS source, target.id AS target
    FROM generate_series(1, {batch}) AS g
    JOIN bench_wallets source ON source.n = {pick_source}
    JOIN bench_wallets target ON target.n = {pick_target}
), legs AS MATERIALIZED (
    SELECT p.journal, leg.wallet, leg.amount
    FROM pairs p CROSS JOIN LATERAL (VALUES (p.source, -1), (p.target, 1)) AS leg(wallet, amount)
), written_journals AS (
    INSERT INTO write_floor_journals (id, type, wallet_id, amount, currency, trace, actor,
                                      created_at)
    SELECT journal, 'TRANSFER', source, 1, 'USD', gen_random_uuid(), 'pgbench', now()
    FROM pairs
), written_entries AS (
    INSERT INTO write_floor_entries (id, journal_id, wallet_id, currency, amount, balance_before,
                                     balance_after, held_before, held_after, row_hash,
                                     created_at)
    SELECT nextval('write_floor_ids'), journal, wallet, 'USD', amount, 1000, 1000 + amount, 0, 0,
           '\\x00112233445566778899aabbccddeeff'::bytea, now()
    FROM legs
), written_events AS (
    INSERT INTO write_floor_outbox (wallet_id, sequence, journal_id, feed_xid)
    SELECT wallet, nextval('write_floor_ids'), journal, pg_current_xact_id() FROM legs
), written_keys AS (
    INSERT INTO write_floor_idempotency_keys {keys}
)
UPDATE write_floor_wallets w
   SET balance = w.balance + moved.delta, version = w.version + 1,
       chain_head = '\\x00112233445566778899aabbccddeeff', updated_at = now(),
       feed_xid = pg_current_xact_id()
  FROM (SELECT wallet, sum(amount) AS delta FROM legs GROUP BY wallet) AS moved
 WHERE w.id = moved.wallet;
COMMIT;
"""


# A key per transfer (single postings), or one per batch (a bulk batch's items carry none: the
# batch's key answers for them all), keeping the least a replay needs: the batch's journal ids.
KEYS = {
    "transfer": "(caller, key, fingerprint, journal_id) SELECT 'pgbench', journal::text,"
    " '\\x00112233445566778899aabbccddeeff'::bytea, journal FROM pairs",
    "batch": "(caller, key, fingerprint, status_code, response_body) SELECT 'pgbench',"
    " gen_random_uuid()::text, '\\x00112233445566778899aabbccddeeff'::bytea, 201,"
    " string_agg(journal::text, ',') FROM pairs",
}


def batch_script(*, batch: int, wallets: int, keys: str) -> str:
    def pick(k: str) -> str:
        return PICK.format(k=k, wallets=wallets)

    return BATCH.format(
        batch=batch,
        keys=KEYS[keys],
        pick_any=pick("g"),
        pick_source=pick("(2 * g - 1)"),
        pick_target=pick("(2 * g)"),
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", default="1,2,4")
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--batches", default="64,1000")
    parser.add_argument("--keys", choices=sorted(KEYS), default="transfer", help="a key per …")
    parser.add_argument("--floor", default=str(ROOT.parent / "shared" / "floor" / "run"))
    parser.add_argument("--floor-seconds", type=int, default=10)
    return parser.parse_args()


def create_tables(url: str) -> None:
    """Empty copies of the tables a transfer writes, with their indexes and checks."""
    with psycopg.connect(url, autocommit=True) as conn:
        drop_tables(conn)
        for table in TABLES:
            conn.execute(
                f"CREATE TABLE write_floor_{table} (LIKE {table} "
                "INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS)"
            )
        conn.execute("CREATE SEQUENCE write_floor_ids")
        conn.execute("INSERT INTO write_floor_wallets SELECT * FROM wallets WHERE kind = 'USER'")
        conn.execute("VACUUM ANALYZE write_floor_wallets")


def drop_tables(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    for table in TABLES:
        conn.execute(f"DROP TABLE IF EXISTS write_floor_{table}")
    conn.execute("DROP SEQUENCE IF EXISTS write_floor_ids")


def main() -> None:
    args = parse_args()
    pgbench, env = tools()
    prepare(args.database_url, args.wallets)
    create_tables(args.database_url)
    try:
        for batch in (int(size) for size in args.batches.split(",")):
            script = batch_script(batch=batch, wallets=args.wallets, keys=args.keys)
            for clients in (int(count) for count in args.clients.split(",")):
                options = ["-c", str(clients), "-j", str(min(clients, 2)), "-T", str(args.seconds)]
                cpu_before = cpu_seconds(postgres_pids())
                tps = pgbench_tps(pgbench, env, args.database_url, script, options)
                # pgbench's own CPU is not counted: it only sends the script's text.
                postings = tps * batch * args.seconds
                cpu = cpu_seconds(postgres_pids()) - cpu_before
                print(
                    f"write_floor batch={batch} keys={args.keys} clients={clients} "
                    f"batches_per_s={tps:.0f} postings_per_s={tps * batch:.0f} "
                    f"postgres_cpu_ms_per_posting={cpu * 1000 / max(postings, 1):.4f}",
                    flush=True,
                )
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            drop_tables(conn)
    print(measure_floor(args.floor, args.database_url, args.floor_seconds, env))


if __name__ == "__main__":
    main()

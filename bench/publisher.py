"""Outbox publisher throughput: one publisher draining a backlog into RabbitMQ.

Creates a database of its own on the server, migrates it, fills the outbox with the events of
``--events / 2`` transfers between random wallets (rows shaped exactly as the posting function
writes them: the wallet snapshot and the whole transaction, per-wallet sequences), then runs
one publisher, the same loop ``wallet worker`` runs, until the backlog is empty or
``--seconds`` pass. Prints events/s and the backlog at the end, then drops the database and
the broker objects it made.

    .venv/bin/python bench/publisher.py --events 100000
    .venv/bin/python bench/publisher.py --database-url postgresql://postgres@127.0.0.1/postgres

``--produce-rate R`` adds R new events/s while publishing (sustained load): the printed
backlog samples then show whether the publisher keeps up. The broker gets an exchange and a
durable queue of the bench's own (capped with ``--queue-max``, so the broker really routes
and stores every persistent message without holding the whole run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from uuid import uuid4

import aio_pika
import asyncpg
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from wallet.config import Settings  # noqa: E402
from wallet.db.embedded import ensure_database, start_embedded_server  # noqa: E402
from wallet.db.migrations import apply_migrations  # noqa: E402
from wallet.db.pool import create_pool  # noqa: E402
from wallet.outbox.broker import Broker  # noqa: E402
from wallet.outbox.publisher import OutboxPublisher, PublisherConfig  # noqa: E402

# Transfers between random user wallets, two outbox rows each, as ledger_apply writes them:
# the subject wallet after the change and the transaction as the API returned it. A wallet's
# sequence continues from its last event, so repeated fills (--produce-rate) stay in order.
FILL = """
WITH sources AS (
    SELECT t, 1 + floor(random() * $2::int)::int AS a FROM generate_series(1, $1) AS t
), transfers AS (
    -- b is any wallet but a
    SELECT t, uuid_v7() AS journal_id, a, 1 + (a + floor(random() * ($2::int - 1))::int) % $2 AS b,
           1 + floor(random() * 1000)::bigint AS amount, clock_timestamp() AS created
    FROM sources
), legs AS (
    SELECT t, journal_id, created, amount, a, b, a AS w, -amount AS delta FROM transfers
    UNION ALL
    SELECT t, journal_id, created, amount, a, b, b AS w, amount AS delta FROM transfers
), numbered AS (
    SELECT legs.*, md5('bench-wallet-' || w)::uuid AS wallet_id,
           coalesce(last.sequence, 0) + row_number() OVER (PARTITION BY w ORDER BY t) AS seq
    FROM legs LEFT JOIN LATERAL (
        SELECT max(sequence) AS sequence FROM outbox
        WHERE wallet_id = md5('bench-wallet-' || legs.w)::uuid) AS last ON true
)
INSERT INTO outbox (event_id, event_type, wallet_id, sequence, journal_id, payload, trace_id,
                    created_at)
SELECT uuid_v7(), 'wallet.transfer.completed', wallet_id, seq, journal_id,
       jsonb_build_object(
           'wallet', jsonb_build_object(
               'id', wallet_id, 'owner_id', 'bench-owner-' || w, 'balance', 1000000 + seq,
               'held', 0, 'available', 1000000 + seq, 'version', seq),
           'transaction', jsonb_build_object(
               'id', journal_id, 'type', 'TRANSFER', 'status', 'POSTED', 'amount', amount,
               'currency', 'USD', 'wallet_id', md5('bench-wallet-' || a)::uuid,
               'entries', jsonb_build_array(
                   jsonb_build_object('wallet_id', md5('bench-wallet-' || a)::uuid,
                       'amount', -amount, 'balance_before', 1000000, 'balance_after',
                       1000000 - amount, 'held_before', 0, 'held_after', 0),
                   jsonb_build_object('wallet_id', md5('bench-wallet-' || b)::uuid,
                       'amount', amount, 'balance_before', 1000000, 'balance_after',
                       1000000 + amount, 'held_before', 0, 'held_after', 0)),
               'reference_id', 'ride-' || t, 'category', 'ride', 'metadata', '{}'::jsonb,
               'hold_id', NULL, 'related_transaction_id', NULL,
               'trace_id', md5(journal_id::text), 'created_at', json_time(created))),
       md5(journal_id::text), created
FROM numbered
ORDER BY t, delta
"""

BACKLOG = "SELECT count(*) FROM outbox WHERE status = 'PENDING'"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="server to use; default: embedded PostgreSQL")
    parser.add_argument(
        "--rabbitmq-url",
        default=os.environ.get("WALLET_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    )
    parser.add_argument("--events", type=int, default=100_000, help="backlog to fill")
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=120.0, help="stop after this long")
    parser.add_argument("--produce-rate", type=int, default=0, help="new events/s meanwhile")
    parser.add_argument("--queue-max", type=int, default=20_000, help="0: bind no queue")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    parser.add_argument("--heads", type=int, help="wallets per round; default: the setting's")
    return parser.parse_args()


def server_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    return start_embedded_server(ROOT / ".wallet-bench")


def with_database(url: str, name: str) -> str:
    head, sep, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}{sep}{query}"


async def fill(url: str, *, events: int, wallets: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        # In chunks, so one statement's window functions stay small.
        for start in range(0, events // 2, 25_000):
            await conn.execute(FILL, min(25_000, events // 2 - start), wallets)
        await conn.execute("VACUUM ANALYZE outbox")
    finally:
        await conn.close()


async def produce(url: str, *, rate: int, wallets: int, stop: asyncio.Event) -> None:
    """Post ``rate`` events/s (in ten steps a second) until ``stop``."""
    conn = await asyncpg.connect(url)
    try:
        step = max(1, rate // 20)  # transfers per tenth of a second: two events each
        next_at = time.perf_counter()
        while not stop.is_set():
            await conn.execute(FILL, step, wallets)
            next_at += 0.1
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    finally:
        await conn.close()


async def declare_queue(url: str, exchange: str, queue_max: int) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        if queue_max:
            queue = await channel.declare_queue(
                exchange,
                durable=True,
                arguments={"x-max-length": queue_max, "x-overflow": "drop-head"},
            )
            await queue.bind(topic, routing_key="#")


async def delete_broker_objects(url: str, exchange: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(exchange)
        await channel.exchange_delete(exchange)


async def run(args: argparse.Namespace, url: str) -> None:
    exchange = f"bench.publisher.{uuid4().hex[:8]}"
    await declare_queue(args.rabbitmq_url, exchange, args.queue_max)
    settings = Settings(rabbitmq_url=args.rabbitmq_url, rabbitmq_exchange=exchange)
    if args.heads:
        settings = settings.model_copy(update={"outbox_wallets_per_round": args.heads})
    pool = await create_pool(url, min_size=1, max_size=4)
    broker = Broker(url=args.rabbitmq_url, exchange_name=exchange)
    publisher = OutboxPublisher(
        pool=pool, broker=broker, config=PublisherConfig.from_settings(settings)
    )
    stop = asyncio.Event()
    producer = None
    try:
        await fill(url, events=args.events, wallets=args.wallets)
        start_backlog = await pool.fetchval(BACKLOG)
        print(f"backlog_start={start_backlog} wallets={args.wallets}", flush=True)
        if args.produce_rate:
            producer = asyncio.create_task(
                produce(url, rate=args.produce_rate, wallets=args.wallets, stop=stop)
            )
        published = 0
        started = time.perf_counter()
        next_report = started + 5.0
        while (now := time.perf_counter()) - started < args.seconds:
            claimed = await publisher.publish_due()
            published += claimed
            if now >= next_report:
                backlog = await pool.fetchval(BACKLOG)
                print(f"t={now - started:.0f}s published={published} backlog={backlog}", flush=True)
                next_report += 5.0
            if claimed == 0:
                if not args.produce_rate:
                    break
                await asyncio.sleep(settings.outbox_poll_seconds)
        elapsed = time.perf_counter() - started
        stop.set()
        if producer is not None:
            await producer
        backlog = await pool.fetchval(BACKLOG)
        print(
            f"published={published} seconds={elapsed:.2f} events_per_s={published / elapsed:.0f} "
            f"produce_rate={args.produce_rate} backlog_end={backlog}"
        )
    finally:
        stop.set()
        await broker.close()
        await pool.close()
        await delete_broker_objects(args.rabbitmq_url, exchange)


def main() -> None:
    args = parse_args()
    server = server_url(args)
    name = f"wallet_bench_pub_{uuid4().hex[:8]}"
    ensure_database(server, name)
    url = with_database(server, name)
    try:
        apply_migrations(url)
        if args.uvloop:
            import uvloop

            uvloop.run(run(args, url))
        else:  # what `wallet worker` runs on
            asyncio.run(run(args, url))
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

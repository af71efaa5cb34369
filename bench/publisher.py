"""Outbox publisher throughput: one worker's publisher draining a backlog into RabbitMQ.

Creates a database of its own on the server, migrates it, funds ``--wallets`` wallets and
fills the outbox through the posting function (transfers between random wallets, two events
each, exactly the rows the engine writes: events that reference their journal and are
rendered from it when claimed), then runs the publisher as `wallet worker` does (its rounds
in flight, each its own loop) until the backlog is empty or ``--seconds`` pass. Prints
events/s and the backlog at the end, then drops the database and the broker objects it made.

    .venv/bin/python bench/publisher.py --events 100000
    .venv/bin/python bench/publisher.py --database-url postgresql://postgres@127.0.0.1/postgres

``--produce-rate R`` adds R new events/s while publishing (sustained load): the printed
backlog samples then show whether the publisher keeps up. The broker gets an exchange and a
durable queue of the bench's own (capped with ``--queue-max``, so the broker really routes
and stores every persistent message without holding the whole run; ``--queue-max 0`` binds
none, which measures the publisher without a queue's storage on the same two cores).
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
from wallet.db.pool import Pool, create_pool  # noqa: E402
from wallet.outbox.broker import Broker  # noqa: E402
from wallet.outbox.publisher import OutboxPublisher, PublisherConfig  # noqa: E402
from wallet.outbox.repository import backlog as outbox_backlog  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from posting import fund_wallets, transfers_sql  # noqa: E402

# The fill's transfers go through the posting function in calls of this many: the outbox
# holds exactly what the engine writes (events that reference their journal and are rendered
# from it when claimed).
FILL_BATCH = 500


async def pending(pool: Pool) -> int:
    """Events waiting to be published, as the service's own backlog gauge counts them."""
    async with pool.acquire() as conn:
        return (await outbox_backlog(conn))[0]


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
    parser.add_argument(
        "--queue-version",
        type=int,
        choices=(1, 2),
        default=1,
        help="the bench queue's classic-queue storage version (x-queue-version)",
    )
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    parser.add_argument("--heads", type=int, help="wallets per round; default: the setting's")
    parser.add_argument("--rounds", type=int, help="rounds in flight; default: the setting's")
    return parser.parse_args()


def server_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    return start_embedded_server(ROOT / ".wallet-bench")


def with_database(url: str, name: str) -> str:
    head, sep, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}{sep}{query}"


async def fill(url: str, *, events: int, wallets: int) -> None:
    """Transfers between random funded wallets until the outbox holds ``events``."""
    conn = await asyncpg.connect(url)
    try:
        # Nothing is published while it fills: every row in the outbox is still to go out.
        while (missing := events - await conn.fetchval("SELECT count(*) FROM outbox")) > 0:
            batch = min(FILL_BATCH, (missing + 1) // 2)
            await conn.execute(transfers_sql(batch=batch, wallets=wallets))
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def produce(url: str, *, rate: int, wallets: int, stop: asyncio.Event) -> None:
    """Post ``rate`` events/s (in ten steps a second) until ``stop``."""
    conn = await asyncpg.connect(url)
    try:
        step = max(1, rate // 20)  # transfers per tenth of a second: two events each
        statement = transfers_sql(batch=step, wallets=wallets)
        next_at = time.perf_counter()
        while not stop.is_set():
            await conn.execute(statement)
            next_at += 0.1
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    finally:
        await conn.close()


async def declare_queue(url: str, exchange: str, queue_max: int, queue_version: int) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        if queue_max:
            queue = await channel.declare_queue(
                exchange,
                durable=True,
                arguments={
                    "x-max-length": queue_max,
                    "x-overflow": "drop-head",
                    "x-queue-version": queue_version,
                },
            )
            await queue.bind(topic, routing_key="#")


async def delete_broker_objects(url: str, exchange: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(exchange)
        await channel.exchange_delete(exchange)


async def drain(publisher: OutboxPublisher, deadline: float, *, poll: float | None) -> int:
    """Rounds until the deadline, or (no ``poll``: nothing produced meanwhile) an empty one."""
    published = 0
    while time.perf_counter() < deadline:
        claimed = await publisher.publish_due()
        published += claimed
        if claimed == 0:
            if poll is None:
                break
            await asyncio.sleep(poll)
    return published


async def report(pool: Pool, started: float) -> None:
    """The backlog every five seconds while the rounds run (cancelled when they end)."""
    while True:
        await asyncio.sleep(5.0)
        backlog = await pending(pool)
        print(f"t={time.perf_counter() - started:.0f}s backlog={backlog}", flush=True)


async def run(args: argparse.Namespace, url: str) -> None:
    exchange = f"bench.publisher.{uuid4().hex[:8]}"
    await declare_queue(args.rabbitmq_url, exchange, args.queue_max, args.queue_version)
    settings = Settings(rabbitmq_url=args.rabbitmq_url, rabbitmq_exchange=exchange)
    if args.heads:
        settings = settings.model_copy(update={"outbox_wallets_per_round": args.heads})
    if args.rounds:
        settings = settings.model_copy(update={"outbox_rounds_in_flight": args.rounds})
    pool = await create_pool(url, min_size=1, max_size=settings.outbox_rounds_in_flight + 2)
    broker = Broker(url=args.rabbitmq_url, exchange_name=exchange)
    publisher = OutboxPublisher(
        pool=pool, broker=broker, config=PublisherConfig.from_settings(settings)
    )
    stop = asyncio.Event()
    producer = None
    try:
        await fill(url, events=args.events, wallets=args.wallets)
        start_backlog = await pending(pool)
        print(f"backlog_start={start_backlog} wallets={args.wallets}", flush=True)
        if args.produce_rate:
            producer = asyncio.create_task(
                produce(url, rate=args.produce_rate, wallets=args.wallets, stop=stop)
            )
        started = time.perf_counter()
        deadline = started + args.seconds
        reporter = asyncio.create_task(report(pool, started))
        # The worker's rounds in flight, each its own loop, as `wallet worker` runs them.
        poll = settings.outbox_poll_seconds if args.produce_rate else None
        counts = await asyncio.gather(
            *(
                drain(publisher, deadline, poll=poll)
                for _ in range(settings.outbox_rounds_in_flight)
            )
        )
        published = sum(counts)
        elapsed = time.perf_counter() - started
        reporter.cancel()
        stop.set()
        if producer is not None:
            await producer
        backlog = await pending(pool)
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
        fund_wallets(url, args.wallets)
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

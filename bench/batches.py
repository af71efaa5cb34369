"""Transfer throughput through POST /v1/batches, reported against the raw-SQL floor.

Starts the service (``wallet serve``), creates funded wallets, then for each batch size
(100 and 1,000 transfers) and mode (atomic and not) drives batches of transfers between
random wallets from a few concurrent clients for a fixed time. Prints transfers/s and the
p50/p99 latency of one batch request, then the raw-SQL floor (``../shared/floor/run``),
measured in the same run on the same server, and each figure's ratio to it.

The load generator is a small asyncio (aiohttp) client: a batch of 1,000 transfers is one
request, so the client's own cost per transfer is small. Bodies are generated before the
clock starts; every request gets a fresh Idempotency-Key.

    .venv/bin/python bench/batches.py --seconds 20
    .venv/bin/python bench/batches.py --seconds 2 --wallets 200 --floor-seconds 2   # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from uuid import uuid4

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transfers as common


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="server to use; default: embedded PostgreSQL")
    parser.add_argument("--seconds", type=float, default=20.0, help="per size and mode")
    parser.add_argument("--concurrency", type=int, default=4, help="batches in flight")
    parser.add_argument("--sizes", default="100,1000", help="transfers per batch")
    parser.add_argument("--modes", default="false,true", help="atomic values to run")
    parser.add_argument("--wallets", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--floor", default=str(common.ROOT.parent / "shared" / "floor" / "run"))
    parser.add_argument("--floor-seconds", type=int, default=10)
    return parser.parse_args()


def batch_bodies(wallets: list[str], size: int, atomic: bool, count: int = 16) -> list[bytes]:
    rng = random.Random(size)
    bodies = []
    for _ in range(count):
        items = []
        for _ in range(size):
            source, target = rng.sample(wallets, 2)
            items.append(
                {"kind": "transfer", "wallet_id": source, "to_wallet_id": target, "amount": 1}
            )
        bodies.append(orjson.dumps({"atomic": atomic, "items": items}))
    return bodies


async def drive(
    base: str, token: str, bodies: list[bytes], clients: int, seconds: float
) -> tuple[list[float], int, int]:
    """Post batches for ``seconds``; return batch latencies, transfers posted, errors."""
    latencies: list[float] = []
    posted = 0
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def client(session: aiohttp.ClientSession, offset: int) -> None:
        nonlocal posted, errors
        turn = offset
        while (started := time.perf_counter()) < deadline:
            body = bodies[turn % len(bodies)]
            turn += 1
            async with session.post(
                f"{base}/v1/batches", data=body, headers={"Idempotency-Key": uuid4().hex}
            ) as response:
                answer = await response.read()
                if response.status != 201:
                    errors += 1
                    continue
            latencies.append(time.perf_counter() - started)
            posted += sum(1 for item in orjson.loads(answer)["items"] if item["status"] == "posted")

    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, timeout=timeout
    ) as session:
        await asyncio.gather(*(client(session, n) for n in range(clients)))
    return latencies, posted, errors


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def main() -> None:
    args = parse_args()
    url = common.database_url(args)
    token = common.bearer_token()
    base = f"http://127.0.0.1:{args.port}"
    server = common.start_server(url, args)
    results = []
    try:
        common.wait_ready(base)
        wallets = asyncio.run(common.create_wallets(url, args.wallets))
        for size in (int(s) for s in args.sizes.split(",")):
            for atomic in (m.strip() == "true" for m in args.modes.split(",")):
                bodies = batch_bodies(wallets, size, atomic)
                latencies, posted, errors = asyncio.run(
                    drive(base, token, bodies, args.concurrency, args.seconds)
                )
                results.append((size, atomic, sorted(latencies), posted, errors))
    finally:
        server.terminate()
        server.wait(timeout=30)
    floor = common.measure_floor(args, url)
    uniform = floor.get("floor_uniform_tps", 0)
    print(
        f"client=asyncio/aiohttp concurrency={args.concurrency} seconds={args.seconds:g} "
        f"server_workers={args.workers} wallets={args.wallets}"
    )
    for size, atomic, latencies, posted, errors in results:
        tps = posted / args.seconds
        ratio = tps / uniform if uniform else float("nan")
        p50 = percentile(latencies, 0.50) * 1000 if latencies else float("nan")
        p99 = percentile(latencies, 0.99) * 1000 if latencies else float("nan")
        print(
            f"batch_size={size} atomic={str(atomic).lower()} batches={len(latencies)} "
            f"errors={errors} transfers_per_s={tps:.0f} batch_p50_ms={p50:.1f} "
            f"batch_p99_ms={p99:.1f} ratio_to_floor={ratio:.3f}"
        )
    print(f"floor_uniform_tps={uniform} floor_hot_tps={floor.get('floor_hot_tps', 0)}")


if __name__ == "__main__":
    main()

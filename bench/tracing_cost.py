"""What tracing costs a transfer, in server CPU, measured without the machine's noise.

Runs the app in this process (no HTTP server: httpx's ASGI transport), makes funded wallets,
then sends ``--transfers`` transfers from ``--concurrency`` clients and reports the process's
CPU time per transfer. Run it twice, with and without tracing, and compare:

    .venv/bin/python bench/tracing_cost.py --database-url postgresql://postgres@127.0.0.1/bench
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 .venv/bin/python bench/tracing_cost.py ...

CPU time rather than wall time: other work on the machine slows both runs alike in wall time
but does not add to this process's CPU time. The database's own CPU is the same in both runs
(the same statements) and is left out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from uuid import uuid4

import httpx

from wallet.app import create_app
from wallet.auth.tokens import Role, issue_token
from wallet.config import Settings
from wallet.db.migrations import apply_migrations

SECRET = "tracing-cost-bench-secret-long-enough-for-hs256"  # noqa: S105 - local benchmark only


async def run(args: argparse.Namespace) -> None:
    settings = Settings(database_url=args.database_url, jwt_secret=SECRET, log_level="WARNING")
    app = create_app(settings)
    token = issue_token(settings=settings, subject="bench", roles=[Role.PAYMENTS])
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=headers
        ) as client,
    ):
        wallets = []
        for index in range(args.wallets):
            body = {"owner_id": f"cost-{uuid4().hex[:8]}-{index}", "currency": "USD"}
            wallet_id = (await client.post("/v1/wallets", json=body)).json()["id"]
            await client.post(
                f"/v1/wallets/{wallet_id}/deposit",
                json={"amount": 10**12},
                headers={"Idempotency-Key": uuid4().hex},
            )
            wallets.append(wallet_id)
        queue = list(range(args.transfers))

        async def client_loop() -> None:
            while queue:
                queue.pop()
                source, target = random.sample(wallets, 2)
                response = await client.post(
                    f"/v1/wallets/{source}/transfer",
                    json={"to_wallet_id": target, "amount": 1},
                    headers={"Idempotency-Key": uuid4().hex},
                )
                assert response.status_code == 201, response.text

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(client_loop() for _ in range(args.concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    tracing = "on" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "off"
    print(
        f"tracing={tracing} sampler={os.environ.get('OTEL_TRACES_SAMPLER', 'default')} "
        f"transfers={args.transfers} cpu_us_per_transfer={cpu / args.transfers * 1e6:.0f} "
        f"wall_transfers_per_s={args.transfers / wall:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--transfers", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--wallets", type=int, default=200)
    args = parser.parse_args()
    apply_migrations(args.database_url)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()

"""Transfer throughput through POST /v1/batches, driven by wrk, against the raw-SQL floor.

Starts the service (``wallet serve``), creates funded wallets, then for each batch size
(100 and 1,000 transfers) and mode (atomic and not) lets wrk (a C load generator; see
``bench/transfers.py``) post batches of transfers between random wallets from a few
connections for a fixed time. Prints transfers/s (the items the answers say were posted),
the p50/p99 latency of one batch request, PostgreSQL and service CPU ms per transfer, then the
raw-SQL floor (``../shared/floor/run``), measured in the same run on the same server, and
each figure's ratio to it.

Bodies are generated before the clock starts; every request gets a fresh Idempotency-Key.

    .venv/bin/python bench/batches.py --seconds 20
    .venv/bin/python bench/batches.py --seconds 2 --wallets 200 --floor-seconds 2   # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transfers as common

# Each request one of the prepared bodies; an answer's posted items counted from its text
# (the batch answer's own "status" fields: a transaction's is upper case, with spaces).
WRK_BATCHES = """
run = "%(run)s"
token = "%(token)s"
local bodies = {%(bodies)s}
extra_names = {"posted"}

function request()
  local headers = next_headers()
  return wrk.format("POST", "/v1/batches", headers, bodies[counter %% #bodies + 1])
end

function on_answer(status, body)
  if status ~= 201 then return end
  local posted, at = 0, 1
  while true do
    local found = string.find(body, '"status":"posted"', at, true)
    if not found then break end
    posted, at = posted + 1, found + 1
  end
  extra_posted = (extra_posted or 0) + posted
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="server to use; default: embedded PostgreSQL")
    parser.add_argument("--seconds", type=float, default=20.0, help="per size and mode")
    parser.add_argument("--concurrency", type=int, default=2, help="batches in flight")
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


@dataclass(frozen=True)
class Run:
    size: int
    atomic: bool
    load: common.Load
    postgres_cpu: float
    service_cpu: float


def drive(
    args: argparse.Namespace, base: str, token: str, bodies: list[bytes], server_pid: int
) -> tuple[common.Load, float, float]:
    """wrk posts ``bodies`` for ``args.seconds``; its tally and the CPU seconds PostgreSQL
    and the service spent meanwhile."""
    script = WRK_BATCHES % {
        "run": uuid4().hex[:8],
        # JSON holds no "]==]": a long bracket keeps each body as it is.
        "bodies": ", ".join(f"[==[{body.decode()}]==]" for body in bodies),
        "token": token,
    }
    pg_before, service_before = common.cpu_now(server_pid)
    load = common.wrk_load(
        script, base=base, connections=args.concurrency, seconds=args.seconds, threads=1
    )
    pg_after, service_after = common.cpu_now(server_pid)
    return load, pg_after - pg_before, service_after - service_before


def main() -> None:
    args = parse_args()
    url = common.database_url(args)
    token = common.bearer_token()
    base = f"http://127.0.0.1:{args.port}"
    server = common.start_server(url, args)
    runs = []
    try:
        common.wait_ready(base)
        wallets = asyncio.run(common.create_wallets(url, args.wallets))
        for size in (int(s) for s in args.sizes.split(",")):
            for atomic in (m.strip() == "true" for m in args.modes.split(",")):
                bodies = batch_bodies(wallets, size, atomic)
                load, postgres_cpu, service_cpu = drive(args, base, token, bodies, server.pid)
                runs.append(Run(size, atomic, load, postgres_cpu, service_cpu))
    finally:
        server.terminate()
        server.wait(timeout=30)
    floor = common.measure_floor(args, url)
    uniform = floor.get("floor_uniform_tps", 0)
    print(
        f"client=wrk connections={args.concurrency} seconds={args.seconds:g} "
        f"server_workers={args.workers} wallets={args.wallets}"
    )
    for run in runs:
        posted = run.load.extra.get("posted", 0)
        per = max(1, posted)
        tps = posted / args.seconds
        print(
            f"batch_size={run.size} atomic={str(run.atomic).lower()} "
            f"statuses={run.load.statuses} transfers_per_s={tps:.0f} "
            f"batch_p50_ms={run.load.p50_ms:.1f} batch_p99_ms={run.load.p99_ms:.1f} "
            f"postgres_cpu_ms_per_transfer={run.postgres_cpu * 1000 / per:.4f} "
            f"service_cpu_ms_per_transfer={run.service_cpu * 1000 / per:.4f} "
            f"ratio_to_floor={tps / uniform if uniform else float('nan'):.3f}"
        )
    print(f"floor_uniform_tps={uniform} floor_hot_tps={floor.get('floor_hot_tps', 0)}")


if __name__ == "__main__":
    main()

"""Rides that spend promotional credit against rides that do not, over HTTP, driven by wrk.

A ride is a hold on the rider's wallet, then its capture to a driver: the capture is what
spends promotional credit (first, soonest-expiring grant first; a transfer to another owner is
cash only, see the README's "Promotional credit"). Two groups of riders, the same size and
cash: one without grants, one whose every wallet has a grant larger than the whole run spends.
Rounds alternate between the groups on one server (plain, promotional, plain, promotional, ...)
so that both see the same machine; it prints each round, then the promotional rides/s as a
ratio of the plain ones, and checks that the promotional rounds did spend promotional credit.

    .venv/bin/python bench/promotional.py --database-url postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transfers as common

GRANT = 100_000_000  # far more than a run spends: every capture takes some promotional credit

# wrk's Lua side (after transfers.WRK_TALLY): a connection that finds an uncaptured hold
# captures it (1 unit to a random driver), else it opens one (1 unit on a random rider). A
# capture answers with a transaction (it has "entries"), a new hold with the hold: that is how
# an answer is told apart.
WRK_RIDES = """
run = "%(run)s"
token = "%(token)s"
local riders = {%(riders)s}
local drivers = {%(drivers)s}
local pending = {}
extra_names = {"holds", "captures", "refused"}

function request()
  local headers = next_headers()
  local hold = table.remove(pending)
  if hold then
    local driver = drivers[math.random(#drivers)]
    return wrk.format("POST", "/v1/holds/" .. hold .. "/capture", headers,
                      '{"amount": 1, "to_wallet_id": "' .. driver .. '", "final": true}')
  end
  local rider = riders[math.random(#riders)]
  return wrk.format("POST", "/v1/wallets/" .. rider .. "/holds", headers, '{"amount": 1}')
end

function on_answer(status, body)
  if status ~= 201 then
    extra_refused = (extra_refused or 0) + 1
  elseif string.find(body, '"entries"', 1, true) then
    extra_captures = (extra_captures or 0) + 1
  else
    extra_holds = (extra_holds or 0) + 1
    table.insert(pending, string.match(body, '"id"%%s*:%%s*"([^"]+)"'))
  end
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="server to use; default: embedded PostgreSQL")
    parser.add_argument("--seconds", type=int, default=10, help="per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each group")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--riders", type=int, default=2_000, help="per group")
    parser.add_argument("--drivers", type=int, default=500)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--port", type=int, default=8767)
    return parser.parse_args()


async def grant_promotional_credit(base: str, token: str, wallets: list[str]) -> None:
    """A grant per wallet through the API, as a platform gives vouchers."""
    expires = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"amount": GRANT, "expires_at": expires, "category": "PROMOTION", "campaign": "bench"}
    headers = {"Authorization": f"Bearer {token}"}
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def grant(wallet: str) -> None:
            async with limit:
                answer = await client.post(
                    f"/v1/wallets/{wallet}/credits",
                    json=body,
                    headers={**headers, "Idempotency-Key": str(uuid4())},
                )
                answer.raise_for_status()

        await asyncio.gather(*(grant(wallet) for wallet in wallets))


def run_round(
    args: argparse.Namespace, base: str, riders: list[str], drivers: list[str], token: str
) -> common.Load:
    script = WRK_RIDES % {
        "riders": ", ".join(f'"{wallet}"' for wallet in riders),
        "drivers": ", ".join(f'"{wallet}"' for wallet in drivers),
        "run": uuid4().hex[:8],
        "token": token,
    }
    return common.wrk_load(
        script, base=base, connections=args.connections, seconds=args.seconds, threads=1
    )


async def promotional_entries(url: str, wallets: list[str]) -> int:
    """Entries of these wallets that spent promotional credit."""
    conn = await asyncpg.connect(url)
    try:
        spent = await conn.fetchval(
            "SELECT count(*) FROM entries WHERE wallet_id = ANY($1::uuid[]) AND promotional < 0",
            wallets,
        )
        return int(spent)
    finally:
        await conn.close()


def main() -> None:
    args = parse_args()
    url = common.database_url(args)
    token = common.bearer_token()
    base = f"http://127.0.0.1:{args.port}"
    server = common.start_server(url, args)
    rides: dict[str, list[float]] = {"plain": [], "promotional": []}
    try:
        common.wait_ready(base)
        plain = asyncio.run(common.create_wallets(url, args.riders))
        promotional = asyncio.run(common.create_wallets(url, args.riders))
        drivers = asyncio.run(common.create_wallets(url, args.drivers))
        asyncio.run(grant_promotional_credit(base, token, promotional))
        for _ in range(args.rounds):
            for group, riders in (("plain", plain), ("promotional", promotional)):
                pg_before, service_before = common.cpu_now(server.pid)
                started = time.perf_counter()
                load = run_round(args, base, riders, drivers, token)
                elapsed = time.perf_counter() - started
                pg_after, service_after = common.cpu_now(server.pid)
                pg_cpu, service_cpu = pg_after - pg_before, service_after - service_before
                counts = load.extra
                per_ride = max(1, counts["captures"])
                rides[group].append(counts["captures"] / args.seconds)
                print(
                    f"group={group} rides_per_s={counts['captures'] / args.seconds:.0f} "
                    f"postings_per_s={(counts['holds'] + counts['captures']) / args.seconds:.0f} "
                    f"p50_ms={load.p50_ms:.1f} p99_ms={load.p99_ms:.1f} "
                    f"refused={counts['refused']} "
                    f"postgres_cpu_ms_per_ride={pg_cpu * 1000 / per_ride:.3f} "
                    f"service_cpu_ms_per_ride={service_cpu * 1000 / per_ride:.3f} "
                    f"elapsed={elapsed:.1f}"
                )
        spent = asyncio.run(promotional_entries(url, promotional))
    finally:
        server.terminate()
        server.wait(timeout=60)
    if spent == 0:
        raise SystemExit("the promotional rounds spent no promotional credit: nothing measured")
    plain_rate = sum(rides["plain"]) / len(rides["plain"])
    promotional_rate = sum(rides["promotional"]) / len(rides["promotional"])
    print(
        f"plain_rides_per_s={plain_rate:.0f} promotional_rides_per_s={promotional_rate:.0f} "
        f"promotional_to_plain={promotional_rate / plain_rate:.3f} "
        f"entries_spending_promotional_credit={spent}"
    )


if __name__ == "__main__":
    main()

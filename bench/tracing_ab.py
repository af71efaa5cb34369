"""What tracing costs in throughput: bench/transfers.py run in pairs, tracing off and on.

This machine's throughput drifts by a third between runs a minute apart (other tenants' load:
vmstat shows 10-15% steal), which is more than the cost being measured. So the figure is not
one run against another, but ``--pairs`` short pairs, each pair run back to back and in ABBA
order (off-on, then on-off) so a steady drift falls on both sides alike; it prints every run,
each pair's on/off ratio, and their median and mean.

Each run gets a new database and starts after a checkpoint: in one growing database the runs
took turns being slow (every second run, whichever side it was on; the cause was not pinned
down), and with a new database each time that pattern did not show again. ``--database-url``
names a database this may drop.

Tracing on means what a deployment turns on: ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at a
receiver (bench/otlp_sink.py, started here), with the service's default sampling.

    .venv/bin/python bench/tracing_ab.py --database-url postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
FIGURES = re.compile(
    r"(transfers_per_s|service_cpu_ms_per_transfer|postgres_cpu_ms_per_transfer)=([\d.]+)"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", required=True, help="a database this may drop and create again"
    )
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--mode", choices=["uniform", "hot", "deposits"], default="uniform")
    parser.add_argument("--sink-port", type=int, default=4318)
    parser.add_argument(
        "--on-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="more environment for the tracing-on runs, e.g. OTEL_TRACES_SAMPLER_ARG=0.01",
    )
    return parser.parse_args()


async def recreate_database(url: str) -> None:
    """A new, empty database of that name, and a checkpoint, so every run starts alike."""
    head, _, name = url.rpartition("/")
    name = name.split("?")[0]
    conn = await asyncpg.connect(f"{head}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def run_once(args: argparse.Namespace, *, tracing: bool) -> dict[str, float]:
    asyncio.run(recreate_database(args.database_url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    if tracing:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{args.sink_port}"
        env.update(pair.split("=", 1) for pair in args.on_env)
    command = [sys.executable, str(ROOT / "bench" / "transfers.py"), "--mode", args.mode]
    command += ["--seconds", str(args.seconds), "--floor-seconds", "1"]
    command += ["--database-url", args.database_url]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return {name: float(value) for name, value in FIGURES.findall(output)}


def main() -> None:
    args = parse_args()
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "otlp_sink.py"), "--port", str(args.sink_port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    ratios, cpu_added = [], []
    try:
        for pair in range(args.pairs):
            order = (False, True) if pair % 2 == 0 else (True, False)
            runs = {tracing: run_once(args, tracing=tracing) for tracing in order}
            off, on = runs[False], runs[True]
            ratio = on["transfers_per_s"] / off["transfers_per_s"]
            added = on["service_cpu_ms_per_transfer"] - off["service_cpu_ms_per_transfer"]
            ratios.append(ratio)
            cpu_added.append(added)
            for tracing in order:
                figures = " ".join(f"{k}={v}" for k, v in runs[tracing].items())
                print(f"pair={pair + 1} tracing={'on' if tracing else 'off'} {figures}")
            print(f"pair={pair + 1} on_over_off={ratio:.3f} service_cpu_added_ms={added:.3f}")
    finally:
        sink.send_signal(signal.SIGTERM)
        spans = sink.communicate(timeout=30)[0].strip()
    print(
        f"pairs={len(ratios)} median_on_over_off={statistics.median(ratios):.3f} "
        f"mean_on_over_off={statistics.mean(ratios):.3f} "
        f"median_service_cpu_added_ms={statistics.median(cpu_added):.3f} sink: {spans}"
    )


if __name__ == "__main__":
    main()

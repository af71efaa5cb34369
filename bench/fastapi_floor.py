"""What FastAPI itself costs per request on this machine: the floor under the service's CPU.

Serves one route shaped like the transfer route (a path parameter, a pydantic body, the
Authorization and Idempotency-Key headers as dependencies, a prebuilt JSON answer) with the
same server settings as ``wallet serve`` (uvicorn, uvloop, httptools, one process), drives it
with wrk, and prints the server's CPU ms per request. Compare with
``service_cpu_ms_per_transfer`` from ``bench/transfers.py`` in the same conditions.

    .venv/bin/python bench/fastapi_floor.py --seconds 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Header
from pydantic import BaseModel
from starlette.responses import Response

floor_app = FastAPI()


class TransferBody(BaseModel):
    to_wallet_id: str
    amount: int


async def caller(authorization: Annotated[str, Header()]) -> str:
    return authorization


@floor_app.post("/v1/wallets/{wallet_id}/transfer", status_code=201)
async def transfer(
    wallet_id: str,
    body: TransferBody,
    who: Annotated[str, Depends(caller)],
    key: Annotated[str, Header(alias="Idempotency-Key")],
) -> Response:
    return Response(content=b'{"posted": true}', status_code=201, media_type="application/json")


WRK_SCRIPT = """
local n = 0
function request()
  n = n + 1
  return wrk.format("POST", "/v1/wallets/w1/transfer",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer t",
     ["Idempotency-Key"] = "k" .. n},
    '{"to_wallet_id": "w2", "amount": 1}')
end
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.fastapi_floor:floor_app",
            "--port",
            str(args.port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{args.port}/docs", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCRIPT)
        before = cpu_seconds(server.pid)
        output = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{args.connections}",
                f"-d{args.seconds}s",
                "-s",
                script.name,
                f"http://127.0.0.1:{args.port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        used = cpu_seconds(server.pid) - before
        os.unlink(script.name)
    finally:
        server.terminate()
        server.wait(timeout=30)
    requests = int(next(line for line in output.splitlines() if "requests in" in line).split()[0])
    print(
        f"requests={requests} requests_per_s={requests / args.seconds:.0f} "
        f"fastapi_floor_cpu_ms_per_request={used * 1000 / max(1, requests):.3f}"
    )


if __name__ == "__main__":
    main()

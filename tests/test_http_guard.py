"""Header limits and the header-read timeout, with real sockets against ``wallet serve``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from tests.server import ServerProcess, env_for, running_server
from wallet.config import Settings

HEADER_TIMEOUT = 1.0
SLOW_CLIENTS = 50


@pytest.fixture(scope="module")
def guarded_server(
    settings: Settings, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = env_for(settings, migration_database_url=database_url)
    env["WALLET_HEADER_TIMEOUT_SECONDS"] = str(HEADER_TIMEOUT)
    with running_server(env, log=tmp_path_factory.mktemp("guard") / "server.log") as server:
        yield server


async def _slow_client(port: int, *, seconds: float) -> tuple[float, bytes]:
    """Send a request line and then one header byte every 0.2 s; when did the server hang up?"""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(b"GET /v1/wallets HTTP/1.1\r\nHost: wallet\r\nX-Slow: ")
    answer = b""
    try:
        while time.monotonic() - started < seconds:
            writer.write(b"a")
            await writer.drain()
            try:
                answer += await asyncio.wait_for(reader.read(4096), timeout=0.2)
            except TimeoutError:
                continue
            if reader.at_eof():
                break
    except ConnectionError:
        pass
    finally:
        writer.close()
    return time.monotonic() - started, answer


async def test_slow_header_senders_are_cut_off(guarded_server: ServerProcess) -> None:
    results = await asyncio.gather(
        *(_slow_client(guarded_server.port, seconds=8) for _ in range(SLOW_CLIENTS))
    )
    held_for = [seconds for seconds, _ in results]
    assert max(held_for) < HEADER_TIMEOUT + 3, held_for
    assert all(answer.startswith(b"HTTP/1.1 408") for _, answer in results)
    # And the server still serves.
    async with httpx.AsyncClient(base_url=guarded_server.base_url) as client:
        assert (await client.get("/healthz")).status_code == 200


def test_too_many_headers_are_refused_with_431(guarded_server: ServerProcess) -> None:
    headers = {f"x-h{n}": "v" for n in range(101)}
    response = httpx.get(f"{guarded_server.base_url}/healthz", headers=headers)
    assert response.status_code == 431
    assert response.json()["code"] == "headers_too_large"


def test_oversized_headers_are_refused_with_431(guarded_server: ServerProcess) -> None:
    response = httpx.get(f"{guarded_server.base_url}/healthz", headers={"x-big": "v" * 20_000})
    assert response.status_code == 431


def test_ordinary_requests_pass_on_a_kept_alive_connection(
    guarded_server: ServerProcess,
) -> None:
    with httpx.Client(base_url=guarded_server.base_url) as client:
        for _ in range(3):
            headers = {f"x-h{n}": "v" * 100 for n in range(50)}
            assert client.get("/healthz", headers=headers).status_code == 200
            time.sleep(HEADER_TIMEOUT * 1.2)  # idle between requests is not a slow header


async def test_real_server_ignores_forwarded_for_by_default(
    guarded_server: ServerProcess, db: asyncpg.Connection[Any]
) -> None:
    trace = f"xff-{uuid4().hex}"
    async with httpx.AsyncClient(base_url=guarded_server.base_url) as client:
        response = await client.get(
            "/v1/wallets", headers={"X-Forwarded-For": "203.0.113.7", "X-Trace-Id": trace}
        )
    assert response.status_code == 401
    address = await db.fetchval("SELECT client_address FROM audit_log WHERE trace_id = $1", trace)
    assert str(address) == "127.0.0.1"

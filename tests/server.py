"""A real ``wallet serve`` process on a free port, for tests that need real sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from wallet.config import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: signal.Signals = signal.SIGTERM, *, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def _wait_healthy(server: ServerProcess, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"wallet serve exited:\n{server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"wallet serve did not come up:\n{server.log.read_text()[-3000:]}")


def start_server(
    env: dict[str, str],
    *,
    log: Path,
    startup_seconds: float = 120.0,
    extra_args: tuple[str, ...] = ("--workers", "1"),
) -> ServerProcess:
    """``wallet serve`` with ``env`` added to this environment (WALLET_* settings)."""
    port = free_port()
    # Start from a clean WALLET_* environment: only what the test says applies.
    base = {name: value for name, value in os.environ.items() if not name.startswith("WALLET_")}
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "wallet.cli", "serve", "--port", str(port), *extra_args],
            env={**base, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(process=process, port=port, log=log)
    try:
        _wait_healthy(server, seconds=startup_seconds)
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    return server


@contextmanager
def running_server(
    env: dict[str, str], *, log: Path, extra_args: tuple[str, ...] = ("--workers", "1")
) -> Iterator[ServerProcess]:
    server = start_server(env, log=log, extra_args=extra_args)
    try:
        yield server
    finally:
        server.stop()


def env_for(settings: Settings, *, migration_database_url: str) -> dict[str, str]:
    """The WALLET_* environment of the suite's settings (same database, same keys)."""
    assert settings.database_url and settings.jwt_secret and settings.pii_keys
    env = {
        "WALLET_DATABASE_URL": settings.database_url,
        "WALLET_MIGRATION_DATABASE_URL": migration_database_url,
        "WALLET_DATA_DIR": str(settings.data_dir),
        "WALLET_JWT_SECRET": settings.jwt_secret,
        "WALLET_PII_KEYS": settings.pii_keys,
        "WALLET_RATE_LIMIT_AUTH_FAILURES": settings.rate_limit_auth_failures,
        "WALLET_LOG_LEVEL": "WARNING",
    }
    if settings.jwt_jwks_file is not None:
        env["WALLET_JWT_JWKS_FILE"] = str(settings.jwt_jwks_file)
    return env

"""The embedded PostgreSQL lives and dies with ``wallet serve`` (real processes).

It stops when the server exits on SIGTERM or SIGINT; after a crash (SIGKILL) the server is
orphaned, and the next ``wallet serve`` takes it over and stops it when it exits; a stale
``postmaster.pid`` naming some other process does not keep the next one from starting.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.server import ServerProcess, start_server

STOP_SECONDS = 15


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = Path(tmp_path_factory.mktemp("embedded"))
    yield directory
    # A failed test may have left its server behind: never leave it running.
    lock_file = directory / "pgdata" / "postmaster.pid"
    if lock_file.exists():
        with contextlib.suppress(psutil.Error, ValueError, AssertionError):
            _postmaster(directory).terminate()


def _serve(data_dir: Path, log_name: str) -> ServerProcess:
    env = {"WALLET_DATA_DIR": str(data_dir), "WALLET_LOG_LEVEL": "WARNING"}
    return start_server(env, log=data_dir / log_name)


def _postmaster(data_dir: Path) -> psutil.Process:
    lock_file = data_dir / "pgdata" / "postmaster.pid"
    process = psutil.Process(int(lock_file.read_text().split("\n", 1)[0]))
    assert process.name() == "postgres"
    return process


def _gone_within(process: psutil.Process, seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
    except psutil.TimeoutExpired:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_embedded_postgres_stops_when_serve_exits(data_dir: Path, sig: signal.Signals) -> None:
    server = _serve(data_dir, f"serve-{sig.name}.log")
    postgres = _postmaster(data_dir)
    server.stop(sig)
    assert _gone_within(postgres, STOP_SECONDS), server.log.read_text()[-2000:]


def test_a_crashed_servers_postgres_is_taken_over_and_stopped(data_dir: Path) -> None:
    crashed = _serve(data_dir, "crashed.log")
    orphan = _postmaster(data_dir)
    crashed.stop(signal.SIGKILL)
    time.sleep(1)
    assert orphan.is_running()  # nothing cleaned up after the crash

    successor = _serve(data_dir, "successor.log")
    assert _postmaster(data_dir).pid == orphan.pid  # attached to the orphan, not a second one
    successor.stop(signal.SIGTERM)
    assert _gone_within(orphan, STOP_SECONDS), successor.log.read_text()[-2000:]


def test_a_stale_postmaster_pid_does_not_block_the_next_start(data_dir: Path) -> None:
    first = _serve(data_dir, "before-stale.log")
    lock_file = data_dir / "pgdata" / "postmaster.pid"
    lock_text = lock_file.read_text()
    first.stop(signal.SIGTERM)
    assert not lock_file.exists()
    # As after a crash and a reboot: the lock file names a PID now used by something else.
    impostor = subprocess.Popen(["sleep", "60"])  # noqa: S607 - a stand-in process
    try:
        lock_file.write_text(f"{impostor.pid}\n" + lock_text.split("\n", 1)[1])
        second = _serve(data_dir, "after-stale.log")
        postgres = _postmaster(data_dir)
        assert postgres.pid != impostor.pid
        second.stop(signal.SIGTERM)
        assert _gone_within(postgres, STOP_SECONDS)
    finally:
        impostor.kill()
        impostor.wait()

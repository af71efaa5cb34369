"""``wallet worker`` as real processes: killed, stopped, and four at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.events import EventSink, assert_per_wallet_order, outbox_event_ids
from tests.support import Api

pytestmark = pytest.mark.broker


class Workers:
    """Starts ``wallet worker`` processes against the test database and exchange."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"worker-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "wallet.cli", "worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def log(self, index: int) -> str:
        return (self.log_dir / f"worker-{index}.log").read_text()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


@pytest.fixture
def workers(
    database_url: str, rabbitmq_url: str, event_sink: EventSink, tmp_path: Path
) -> Iterator[Workers]:
    env = {
        **os.environ,
        "WALLET_DATABASE_URL": database_url,
        "WALLET_RABBITMQ_URL": rabbitmq_url,
        "WALLET_RABBITMQ_EXCHANGE": event_sink.exchange_name,
        "WALLET_OUTBOX_POLL_SECONDS": "0.05",
        "WALLET_DATA_DIR": str(tmp_path / "data"),
        "WALLET_LOG_LEVEL": "INFO",
    }
    running = Workers(env, tmp_path)
    yield running
    running.stop_all()


async def _movements(api: Api, owner: str, wallets: int, transfers: int) -> list[str]:
    ids = [await api.funded_wallet(f"{owner}-{i}", 10_000) for i in range(wallets)]
    responses = await asyncio.gather(
        *(
            api.move(
                ids[i % wallets], "transfer", {"to_wallet_id": ids[(i + 1) % wallets], "amount": 1}
            )
            for i in range(transfers)
        )
    )
    assert {response.status_code for response in responses} == {201}
    return ids


async def _wait_for(condition: Any, within: float = 30.0) -> None:
    for _ in range(int(within / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def _all_published(db: Any, wallets: list[str]) -> bool:
    pending: int = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE wallet_id = ANY($1::uuid[]) AND published_at IS NULL",
        wallets,
    )
    return pending == 0


async def test_sigkill_between_publish_and_mark_loses_nothing(
    api: Api, db: Any, database_url: str, event_sink: EventSink, workers: Workers, owner: str
) -> None:
    import asyncpg

    wallets = await _movements(api, owner, wallets=3, transfers=12)
    expected = await outbox_event_ids(db, wallets)
    blocker = await asyncpg.connect(database_url)
    try:
        # SHARE mode lets the worker claim (FOR UPDATE) and publish, but holds its marking
        # UPDATE: the worker is stopped exactly between the broker's ack and the mark.
        holding = blocker.transaction()
        await holding.start()
        await blocker.execute("LOCK TABLE outbox IN SHARE MODE")
        first = workers.start()
        await event_sink.wait_until(
            lambda: {d.message_id for d in event_sink.for_wallets(wallets)} >= expected,
            within=30,
        )
        assert await blocker.fetchval(
            "SELECT count(*) FROM outbox_documents"
            " WHERE wallet_id = ANY($1::uuid[]) AND status = 'PENDING'",
            wallets,
        ) == len(expected)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        await holding.rollback()
    finally:
        await blocker.close()

    workers.start()
    await _wait_for(lambda: _all_published(db, wallets))
    deliveries = event_sink.for_wallets(wallets)
    assert {d.message_id for d in deliveries} == expected
    assert len(deliveries) > len(expected)  # redelivered after the kill, with the same ids
    assert_per_wallet_order(deliveries)


async def test_four_workers_publish_every_row_once(
    api: Api, db: Any, event_sink: EventSink, workers: Workers, owner: str
) -> None:
    wallets = await _movements(api, owner, wallets=12, transfers=120)
    expected = await outbox_event_ids(db, wallets)
    for _ in range(4):
        workers.start()
    await _wait_for(lambda: _all_published(db, wallets))
    await event_sink.wait_until(lambda: len(event_sink.for_wallets(wallets)) >= len(expected))
    await asyncio.sleep(0.3)  # a row claimed twice would arrive twice: give it the time to
    deliveries = event_sink.for_wallets(wallets)
    assert sorted(d.message_id for d in deliveries) == sorted(expected)
    assert_per_wallet_order(deliveries)
    assert all(process.poll() is None for process in workers.processes)


async def test_sigterm_stops_the_worker_cleanly(
    api: Api, event_sink: EventSink, workers: Workers, owner: str
) -> None:
    process = workers.start()
    wallet = await api.funded_wallet(owner, 100)
    await event_sink.wait_until(lambda: len(event_sink.for_wallets([wallet])) == 2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    log = workers.log(0)
    assert "stopping worker" in log and "worker tasks stopped" in log

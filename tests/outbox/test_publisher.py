"""The publisher against a real RabbitMQ: exactly the committed events, in wallet order."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from tests.events import EventSink, TcpProxy, assert_per_wallet_order, outbox_event_ids
from tests.support import Api
from wallet.config import Settings
from wallet.workers.process import in_background

pytestmark = pytest.mark.broker


def _worker_settings(settings: Settings, url: str, sink: EventSink, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "rabbitmq_url": url,
            "rabbitmq_exchange": sink.exchange_name,
            "outbox_poll_seconds": 0.05,
            **extra,
        }
    )


async def _statuses(db: Any, wallet_ids: list[str]) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT status, count(*) AS n FROM outbox_documents WHERE wallet_id = ANY($1::uuid[]) "
        "GROUP BY status",
        wallet_ids,
    )
    return {row["status"]: row["n"] for row in rows}


async def test_every_committed_movement_arrives_once_in_wallet_order(
    api: Api,
    app: FastAPI,
    db: Any,
    settings: Settings,
    rabbitmq_url: str,
    event_sink: EventSink,
    owner: str,
) -> None:
    wallets = [await api.funded_wallet(f"{owner}-{i}", 10_000) for i in range(4)]

    async def ring_transfer(i: int) -> int:
        body = {"to_wallet_id": wallets[(i + 1) % 4], "amount": 1 + i}
        return (await api.move(wallets[i % 4], "transfer", body)).status_code

    async def overdraw(wallet_id: str) -> int:
        return (await api.move(wallet_id, "withdraw", {"amount": 10**9})).status_code

    statuses = await asyncio.gather(
        *(ring_transfer(i) for i in range(60)), *(overdraw(w) for w in wallets)
    )
    assert statuses == [201] * 60 + [422] * 4
    expected = await outbox_event_ids(db, wallets)
    assert len(expected) == 4 * 2 + 60 * 2  # created + deposit each, two wallets per transfer

    worker_settings = _worker_settings(settings, rabbitmq_url, event_sink)
    # Two publishers over the same rows, as two worker processes would be.
    async with (
        in_background(app.state.pool, worker_settings),
        in_background(app.state.pool, worker_settings),
    ):
        await event_sink.wait_until(
            lambda: {d.message_id for d in event_sink.for_wallets(wallets)} == expected
        )
    deliveries = event_sink.for_wallets(wallets)
    assert len(deliveries) == len(expected)  # no crash, so no event twice
    sequences = assert_per_wallet_order(deliveries)
    assert all(numbers[0] == 1 for numbers in sequences.values())
    for delivered in deliveries:
        assert delivered.routing_key == delivered.body["type"]
        assert delivered.persistent
        assert delivered.content_type == "application/cloudevents+json"
    assert await _statuses(db, wallets) == {"PUBLISHED": len(expected)}


async def test_poison_event_is_dead_lettered_while_others_flow(
    api: Api,
    app: FastAPI,
    db: Any,
    settings: Settings,
    rabbitmq_url: str,
    event_sink: EventSink,
    owner: str,
) -> None:
    poisoned_wallet = uuid4()
    insert = """
        INSERT INTO outbox (event_id, event_type, wallet_id, sequence, payload, trace_id)
        VALUES ($1, $2, $3, $4, '{}', 'poison-test') RETURNING event_id
    """
    poison_id = await db.fetchval(insert, uuid4(), "x" * 300, poisoned_wallet, 1)
    behind_poison = uuid4()
    await db.fetchval(insert, behind_poison, "wallet.test.after_poison", poisoned_wallet, 2)
    healthy = await api.funded_wallet(owner, 500)
    dead_before = REGISTRY.get_sample_value("wallet_outbox_dead_lettered_total") or 0.0

    worker_settings = _worker_settings(
        settings,
        rabbitmq_url,
        event_sink,
        outbox_max_attempts=3,
        outbox_retry_base_seconds=0.02,
        outbox_retry_max_seconds=0.1,
    )
    async with in_background(app.state.pool, worker_settings):
        await event_sink.wait_until(
            lambda: len(event_sink.for_wallets([healthy, str(poisoned_wallet)])) == 3
        )
    row = await db.fetchrow("SELECT * FROM outbox_documents WHERE event_id = $1", poison_id)
    assert row["status"] == "DEAD" and row["attempts"] == 3
    assert row["dead_lettered_at"] is not None and "routing key" in row["last_error"]
    assert REGISTRY.get_sample_value("wallet_outbox_dead_lettered_total") == dead_before + 1
    delivered_types = [d.body["type"] for d in event_sink.for_wallets([str(poisoned_wallet)])]
    assert delivered_types == ["wallet.test.after_poison"]
    assert {d.body["type"] for d in event_sink.for_wallets([healthy])} == {
        "wallet.created",
        "wallet.deposit.completed",
    }


async def test_broker_outage_loses_nothing_and_the_publisher_reconnects(
    api: Api,
    app: FastAPI,
    db: Any,
    settings: Settings,
    rabbitmq_url: str,
    event_sink: EventSink,
    owner: str,
) -> None:
    broker = urlsplit(rabbitmq_url)
    proxy = TcpProxy(broker.hostname or "127.0.0.1", broker.port or 5672)
    await proxy.start()
    await proxy.cut()  # the broker is unreachable from the start
    via_proxy = rabbitmq_url.replace(
        broker.netloc, f"{broker.username}:{broker.password}@127.0.0.1:{proxy.port}"
    )
    worker_settings = _worker_settings(
        settings, via_proxy, event_sink, worker_max_backoff_seconds=0.3
    )
    wallet = await api.funded_wallet(owner, 100_000)
    async with in_background(app.state.pool, worker_settings):
        burst = await asyncio.gather(
            *(api.move(wallet, "withdraw", {"amount": 10}) for _ in range(30))
        )
        assert {response.status_code for response in burst} == {201}
        await asyncio.sleep(0.5)
        assert await _statuses(db, [wallet]) == {"PENDING": 32}
        assert event_sink.for_wallets([wallet]) == []

        await proxy.start()  # the broker is back
        await event_sink.wait_until(lambda: len(event_sink.for_wallets([wallet])) == 32)

        await proxy.cut()  # and gone again, this time under an open connection
        second = await asyncio.gather(
            *(api.move(wallet, "withdraw", {"amount": 10}) for _ in range(10))
        )
        assert {response.status_code for response in second} == {201}
        await proxy.start()
        await event_sink.wait_until(
            lambda: len({d.message_id for d in event_sink.for_wallets([wallet])}) == 42
        )
    await proxy.cut()
    assert await outbox_event_ids(db, [wallet]) == {
        d.message_id for d in event_sink.for_wallets([wallet])
    }
    assert assert_per_wallet_order(event_sink.for_wallets([wallet]))[wallet] == list(range(1, 43))
    assert await _statuses(db, [wallet]) == {"PUBLISHED": 42}

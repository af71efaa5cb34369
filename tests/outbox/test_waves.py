"""Publishing in waves: long chains per wallet stay in order, a nack holds its wallet back."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import aio_pika
import pytest
from fastapi import FastAPI

from tests.events import EventSink, assert_per_wallet_order
from wallet.config import Settings
from wallet.workers.process import in_background

pytestmark = pytest.mark.broker

_INSERT = """
    INSERT INTO outbox (event_id, event_type, wallet_id, sequence, payload, trace_id)
    SELECT gen_random_uuid(), 'wallet.test.wave', w.id, s, jsonb_build_object('n', s), 'waves'
    FROM unnest($1::uuid[], $2::int[]) AS w(id, events), generate_series(1, w.events) AS s
    ORDER BY s, w.id
"""


def _settings(settings: Settings, url: str, sink: EventSink, **extra: Any) -> Settings:
    update = {"rabbitmq_url": url, "rabbitmq_exchange": sink.exchange_name}
    return settings.model_copy(update={**update, "outbox_poll_seconds": 0.05, **extra})


async def test_long_chains_and_many_wallets_arrive_once_in_order(
    app: FastAPI, db: Any, settings: Settings, rabbitmq_url: str, event_sink: EventSink
) -> None:
    # Three hot wallets with more events than one claim takes per wallet, beside many wallets
    # with one or two, as a hot receiving wallet makes them.
    hot = [uuid4() for _ in range(3)]
    cold = [uuid4() for _ in range(300)]
    counts = [130] * len(hot) + [1 + i % 2 for i in range(len(cold))]
    await db.execute(_INSERT, hot + cold, counts)
    wallets = [str(w) for w in hot + cold]
    worker = _settings(
        settings, rabbitmq_url, event_sink, outbox_wallets_per_round=50, outbox_events_per_wallet=20
    )
    async with in_background(app.state.pool, worker), in_background(app.state.pool, worker):
        await event_sink.wait_until(lambda: len(event_sink.for_wallets(wallets)) >= sum(counts))
    deliveries = event_sink.for_wallets(wallets)
    assert len(deliveries) == sum(counts)  # no crash, so nothing twice
    sequences = assert_per_wallet_order(deliveries)
    assert {wallet: len(numbers) for wallet, numbers in sequences.items()} == dict(
        zip(wallets, counts, strict=True)
    )
    first = deliveries[0]
    assert first.persistent and first.content_type == "application/cloudevents+json"
    assert first.body["data"] == {"n": first.body["sequence"]}  # the stored JSON, spliced in


async def test_a_nacked_event_holds_back_its_wallet_until_it_is_resolved(
    app: FastAPI, db: Any, settings: Settings, rabbitmq_url: str, event_sink: EventSink
) -> None:
    # A queue that refuses every message of this test's type makes the broker nack each of
    # its publishes; the sink's own queue still receives a copy of every attempt, so it shows
    # what went out and when. Bound to that type only, so that what earlier tests of the
    # session left undelivered goes out once instead of through every retry first.
    connection = await aio_pika.connect(rabbitmq_url)
    channel = await connection.channel()
    refusing = await channel.declare_queue(
        f"refusing.{uuid4().hex}",
        auto_delete=True,
        arguments={"x-max-length": 0, "x-overflow": "reject-publish"},
    )
    await refusing.bind(event_sink.exchange_name, routing_key="wallet.test.wave")
    wallet, other = uuid4(), uuid4()
    await db.execute(_INSERT, [wallet, other], [3, 3])
    worker = _settings(
        settings,
        rabbitmq_url,
        event_sink,
        outbox_max_attempts=2,
        outbox_retry_base_seconds=0.02,
        outbox_retry_max_seconds=0.05,
    )
    try:
        async with in_background(app.state.pool, worker):
            await event_sink.wait_until(
                lambda: len(event_sink.for_wallets([str(wallet), str(other)])) == 12
            )
    finally:
        await refusing.delete(if_unused=False, if_empty=False)
        await connection.close()
    for subject in (wallet, other):
        attempts = [d.body["sequence"] for d in event_sink.for_wallets([str(subject)])]
        # Each event twice (nacked, then dead-lettered), and never a later one in between.
        assert attempts == [1, 1, 2, 2, 3, 3]
    statuses = await db.fetch(
        "SELECT DISTINCT status FROM outbox_documents WHERE wallet_id = ANY($1::uuid[])",
        [UUID(str(wallet)), UUID(str(other))],
    )
    assert [row["status"] for row in statuses] == ["DEAD"]

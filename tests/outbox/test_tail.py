"""``wallet events tail``: prints what the broker delivers for a binding, and stops at a limit."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import aio_pika

from wallet.outbox.tail import tail_events


async def test_tail_prints_matching_events_until_its_limit(rabbitmq_url: str) -> None:
    exchange_name = f"wallet.events.test.{uuid4().hex}"
    printed: list[str] = []
    tail = asyncio.create_task(
        tail_events(
            url=rabbitmq_url,
            exchange_name=exchange_name,
            binding="wallet.#",
            emit=printed.append,
            limit=2,
        )
    )
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        # Publish until the tail's queue is bound (it declares it after connecting).
        for attempt in range(100):
            await exchange.publish(
                aio_pika.Message(body=f'{{"hold": {attempt}}}'.encode()),
                routing_key="hold.created",  # outside the binding: never printed
            )
            await exchange.publish(
                aio_pika.Message(body=f'{{"n": {attempt}}}'.encode()),
                routing_key="wallet.deposit.completed",
            )
            if printed or tail.done():
                break
            await asyncio.sleep(0.05)
        await exchange.publish(aio_pika.Message(body=b'{"last": true}'), routing_key="wallet.x")
        received = await asyncio.wait_for(tail, timeout=10)
        await exchange.delete()

    assert received == 2
    assert len(printed) == 2
    assert all(line.startswith('{"n"') or line == '{"last": true}' for line in printed)
    assert not any("hold" in line for line in printed)

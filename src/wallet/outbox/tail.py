"""``wallet events tail``: a throwaway queue on the exchange, printing events as they arrive."""

from __future__ import annotations

from collections.abc import Callable

import aio_pika


async def tail_events(
    *, url: str, exchange_name: str, binding: str, emit: Callable[[str], None], limit: int | None
) -> int:
    """Emit each event body (one JSON line) until ``limit`` events, or forever; returns the count.

    The queue is exclusive and goes away with the connection, so tailing leaves nothing behind.
    """
    received = 0
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=binding)
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process():
                    emit(message.body.decode())
                received += 1
                if limit is not None and received >= limit:
                    break
    return received

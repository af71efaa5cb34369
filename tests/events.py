"""Helpers for event tests: a consumer that records what the broker delivers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import aio_pika
import orjson
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue


@dataclass
class Delivered:
    message_id: str
    routing_key: str
    body: dict[str, Any]
    content_type: str | None
    persistent: bool


@dataclass
class EventSink:
    url: str
    exchange_name: str
    connection: AbstractConnection
    channel: AbstractChannel
    exchange: AbstractExchange
    queue: AbstractQueue
    received: list[Delivered] = field(default_factory=list)

    @classmethod
    async def open(cls, url: str, *, exchange_name: str) -> EventSink:
        connection = await aio_pika.connect(url)
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")
        sink = cls(url, exchange_name, connection, channel, exchange, queue)
        await queue.consume(sink._on_message)
        return sink

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            self.received.append(
                Delivered(
                    message_id=message.message_id or "",
                    routing_key=message.routing_key or "",
                    body=orjson.loads(message.body),
                    content_type=message.content_type,
                    persistent=message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT,
                )
            )

    def for_wallets(self, wallet_ids: Iterable[str]) -> list[Delivered]:
        wanted = set(wallet_ids)
        return [d for d in self.received if d.body["subject"] in wanted]

    async def wait_until(
        self, condition: Callable[[], bool], *, within: float = 20.0, what: str = "events"
    ) -> None:
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.channel.exchange_delete(self.exchange_name)
        await self.connection.close()


def assert_per_wallet_order(deliveries: list[Delivered]) -> dict[str, list[int]]:
    """After dropping repeated event ids, each wallet's sequences strictly increase."""
    seen: set[str] = set()
    sequences: dict[str, list[int]] = {}
    for delivered in deliveries:
        assert delivered.message_id == delivered.body["id"]
        if delivered.message_id in seen:
            continue
        seen.add(delivered.message_id)
        sequences.setdefault(delivered.body["subject"], []).append(delivered.body["sequence"])
    for wallet_id, numbers in sequences.items():
        assert numbers == sorted(set(numbers)), f"wallet {wallet_id} out of order: {numbers}"
    return sequences


async def outbox_event_ids(db: Any, wallet_ids: Iterable[str]) -> set[str]:
    rows = await db.fetch(
        "SELECT event_id FROM outbox_documents WHERE wallet_id = ANY($1::uuid[])",
        [UUID(w) for w in wallet_ids],
    )
    return {str(row["event_id"]) for row in rows}


class TcpProxy:
    """A local port forwarding to the broker that a test can cut and restore: an outage."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, upstream_writer]
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

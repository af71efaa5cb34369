"""The RabbitMQ side: one confirmed channel to a durable topic exchange, batches of messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, DeliveryError

from wallet.outbox.amqp import OutgoingMessage, publish_many
from wallet.outbox.core import CONTENT_TYPE, OutboxEvent
from wallet.outbox.metrics import BROKER_UP
from wallet.workers.runner import DependencyUnavailable

logger = logging.getLogger(__name__)

_BROKER_ERRORS = (*CONNECTION_EXCEPTIONS, TimeoutError)


class BrokerUnavailable(DependencyUnavailable):
    """The broker cannot be reached, or the connection broke: try again later."""


class PublishRejected(Exception):
    """The broker answered this one message with a nack."""


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Broker:
    """Connects lazily, and again after any failure; never retries on its own.

    The publisher decides what a failure means (see publisher.py), so this class only reports
    them: ``BrokerUnavailable`` for the connection, ``PublishRejected`` for one message.
    """

    def __init__(self, *, url: str, exchange_name: str, connect_timeout: float = 5.0) -> None:
        self._url = url
        self._exchange_name = exchange_name
        self._connect_timeout = connect_timeout
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        # Rounds in flight share the connection: the first to find it down connects it, the
        # others wait for that instead of opening their own.
        self._connecting = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return (
            self._exchange is not None
            and self._channel is not None
            and not self._channel.is_closed
            and self._connection is not None
            and not self._connection.is_closed
        )

    async def connect(self) -> None:
        """Make sure a confirmed channel and the exchange are ready."""
        if self.connected:
            return
        async with self._connecting:
            if not self.connected:
                await self._connect()

    async def _connect(self) -> None:
        await self.close()
        try:
            self._connection = await aio_pika.connect(
                self._url,
                timeout=self._connect_timeout,
                client_properties={"connection_name": "wallet-outbox-publisher"},
            )
            self._channel = await self._connection.channel(publisher_confirms=True)
            self._exchange = await self._channel.declare_exchange(
                self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
        except _BROKER_ERRORS as exc:
            await self.close()
            raise BrokerUnavailable(describe(exc)) from exc
        BROKER_UP.set(1)
        logger.info("broker connected", extra={"exchange": self._exchange_name})

    async def publish_batch(
        self, messages: Sequence[tuple[OutboxEvent, bytes]], *, confirm_timeout: float
    ) -> list[Exception | None]:
        """Send persistent messages in order and wait for their confirms; one outcome each.

        ``None`` is an ack, ``PublishRejected`` a nack, ``BrokerUnavailable`` a message whose
        confirm never came (the connection broke, or ``confirm_timeout`` passed): the broker
        may or may not have it.
        """
        if self._channel is None or self._exchange is None:
            raise BrokerUnavailable("not connected")
        outgoing = [_message(event, body) for event, body in messages]
        try:
            channel = await self._channel.get_underlay_channel()
            # Not mandatory: an event nobody has bound a queue for is delivered to nobody,
            # as a topic exchange intends; the feed keeps it available for replay.
            sent = await publish_many(channel, outgoing, exchange=self._exchange.name)
        except _BROKER_ERRORS as exc:
            raise BrokerUnavailable(describe(exc)) from exc
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sent.all_confirmed, timeout=confirm_timeout)
        for confirmation in sent.confirmations:
            confirmation.cancel()  # those still waiting: they stay unconfirmed
        return [_outcome(confirmation) for confirmation in sent.confirmations]

    async def close(self) -> None:
        connection, self._connection, self._channel, self._exchange = (
            self._connection,
            None,
            None,
            None,
        )
        BROKER_UP.set(0)
        if connection is not None and not connection.is_closed:
            try:
                await connection.close()
            except _BROKER_ERRORS:  # already broken: nothing left to close cleanly
                logger.debug("broker connection closed with an error", exc_info=True)


def _message(event: OutboxEvent, body: bytes) -> OutgoingMessage:
    return OutgoingMessage(
        body=body,
        routing_key=event.event_type,
        content_type=CONTENT_TYPE,
        message_id=str(event.event_id),
        timestamp=event.created_at,
        message_type=event.event_type,
        app_id="wallet-service",
        headers={"wallet_id": str(event.wallet_id), "sequence": event.sequence},
    )


def _outcome(confirmation: asyncio.Future[Any]) -> Exception | None:
    if confirmation.cancelled():
        return BrokerUnavailable("no confirm from the broker in time")
    exc = confirmation.exception()
    if exc is None:
        return None
    if isinstance(exc, DeliveryError):
        return PublishRejected(describe(exc))
    return BrokerUnavailable(describe(exc))


class BrokerProbe:
    """Answers "can the broker be reached?" for /readyz, at most once per ``ttl`` seconds."""

    def __init__(self, url: str, *, ttl: float = 5.0, timeout: float = 2.0) -> None:
        self._url = url
        self._ttl = ttl
        self._timeout = timeout
        self._checked_at = float("-inf")
        self._state = "unknown"
        self._lock = asyncio.Lock()

    async def state(self) -> str:
        async with self._lock:
            if time.monotonic() - self._checked_at >= self._ttl:
                self._state = await self._check()
                self._checked_at = time.monotonic()
            return self._state

    async def _check(self) -> str:
        try:
            connection = await aio_pika.connect(self._url, timeout=self._timeout)
        except _BROKER_ERRORS:
            return "unreachable"
        await connection.close()
        return "ok"

"""The outbox's own AMQP frames, read back by pamqp (the library aio-pika's consumers use)."""

from __future__ import annotations

from datetime import UTC, datetime

import pamqp.frame
from pamqp import commands
from pamqp.body import ContentBody
from pamqp.header import ContentHeader

from wallet.outbox.amqp import OutgoingMessage, _frames


def _read_all(data: bytes) -> list[object]:
    frames: list[object] = []
    while data:
        consumed, channel, frame = pamqp.frame.unmarshal(data)
        assert channel == 7
        frames.append(frame)
        data = data[consumed:]
    return frames


def test_a_message_reads_back_as_the_same_publish_header_and_body() -> None:
    body = bytes(range(256)) * 10  # 2,560 bytes: three body frames of at most 1,000
    message = OutgoingMessage(
        body=body,
        routing_key="wallet.transfer.completed",
        content_type="application/cloudevents+json",
        message_id="01980c6e-6a8f-7a51-9d0b-3b1f0c1de2a4",
        timestamp=datetime(2026, 3, 1, 12, 0, 0, 654321, tzinfo=UTC),
        message_type="wallet.transfer.completed",
        app_id="wallet-service",
        headers={"wallet_id": "w-é", "sequence": 2**40 + 7},
    )
    publish, header, *bodies = _read_all(
        _frames(message, exchange="wallet.events", channel_number=7, max_body=1000)
    )
    assert isinstance(publish, commands.Basic.Publish)
    assert (publish.exchange, publish.routing_key) == ("wallet.events", message.routing_key)
    assert not publish.mandatory and not publish.immediate
    assert isinstance(header, ContentHeader)
    assert header.body_size == len(body)
    properties = header.properties
    assert properties.content_type == message.content_type
    assert properties.delivery_mode == 2
    assert properties.message_id == message.message_id
    assert properties.timestamp == datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert properties.message_type == message.message_type
    assert properties.app_id == message.app_id
    assert properties.headers == {"wallet_id": "w-é", "sequence": 2**40 + 7}
    assert all(isinstance(frame, ContentBody) for frame in bodies)
    assert [len(frame.value) for frame in bodies] == [1000, 1000, 560]  # type: ignore[attr-defined]
    assert b"".join(frame.value for frame in bodies) == body  # type: ignore[attr-defined]

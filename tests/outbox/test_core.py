"""The pure parts: envelope, message limits, retry timing, feed cursors."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import orjson
import pytest

from wallet.errors import InvalidCursor
from wallet.outbox.core import (
    FEED_START,
    EventNotPublishable,
    FeedPosition,
    LegacyFeedPosition,
    OutboxEvent,
    build_envelope,
    decode_feed_cursor,
    encode_feed_cursor,
    encode_message,
    retry_delay,
    rfc3339_utc,
)


def _event(event_type: str = "wallet.deposit.completed", payload: object = None) -> OutboxEvent:
    return OutboxEvent(
        event_id=uuid4(),
        event_type=event_type,
        wallet_id=uuid4(),
        sequence=3,
        payload=payload if payload is not None else {"wallet": {"balance": 5}},
        trace_id="trace-1",
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def test_envelope_is_a_cloudevent_with_sequence_and_trace() -> None:
    event = _event()
    envelope = build_envelope(event, source="urn:test")
    assert envelope == {
        "specversion": "1.0",
        "id": str(event.event_id),
        "source": "urn:test",
        "type": "wallet.deposit.completed",
        "subject": str(event.wallet_id),
        "time": "2026-01-02T03:04:05.000000Z",
        "datacontenttype": "application/json",
        "dataschema": "urn:wallet:events:wallet.deposit.completed:v1",
        "sequence": 3,
        "traceid": "trace-1",
        "data": {"wallet": {"balance": 5}},
    }
    body = encode_message(event, source="urn:test", max_bytes=10_000)
    assert orjson.loads(body) == envelope


@pytest.mark.parametrize("event_type", ["", "x" * 256])
def test_event_type_that_cannot_be_a_routing_key_is_unpublishable(event_type: str) -> None:
    with pytest.raises(EventNotPublishable):
        encode_message(_event(event_type), source="urn:test", max_bytes=10_000)


def test_oversized_message_is_unpublishable() -> None:
    with pytest.raises(EventNotPublishable):
        encode_message(_event(payload={"blob": "x" * 500}), source="urn:test", max_bytes=400)


def test_retry_delay_grows_exponentially_with_bounded_jitter() -> None:
    rng = random.Random(4)
    for attempts in range(1, 12):
        ceiling = min(60.0, 0.5 * 2 ** (attempts - 1))
        delay = retry_delay(attempts, base_seconds=0.5, max_seconds=60.0, rng=rng)
        assert ceiling / 2 <= delay <= ceiling
    delays = {retry_delay(3, base_seconds=1.0, max_seconds=60.0, rng=rng) for _ in range(20)}
    assert len(delays) > 1  # jittered, so retries of many rows spread out


def test_feed_cursor_round_trips_and_refuses_anything_else() -> None:
    position = FeedPosition(feed_xid=123456789012, wallet_id=uuid4(), sequence=42)
    assert decode_feed_cursor(encode_feed_cursor(position)) == position
    assert decode_feed_cursor(None) == FEED_START
    wallet = position.wallet_id
    for bad in (
        "nope",
        "djE6MQ",
        encode_feed_cursor(position)[:-8] + "!!",  # cut short
        _cursor(f"e2:1:{wallet}"),  # no sequence
        _cursor("e2:1:not-a-uuid:3"),
        _cursor(f"e2:1:{wallet}:-1"),
        _cursor(f"e2:{2**63}:{wallet}:1"),
        _cursor(f"e3:1:{wallet}:1"),
        _cursor("e1:1:2:3"),
        _cursor(f"e1:1:{2**63}"),
    ):
        with pytest.raises(InvalidCursor):
            decode_feed_cursor(bad)


def test_a_cursor_of_before_0021_names_its_row_id() -> None:
    assert decode_feed_cursor(_cursor("e1:123:45")) == LegacyFeedPosition(123, 45)


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 12, 2, 7, 5, 9, 123456, tzinfo=UTC), "2026-12-02T07:05:09.123456Z"),
        # Whole seconds keep their microseconds; another offset is turned into UTC.
        (
            datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
            "2025-12-31T23:30:00.000000Z",
        ),
    ],
)
def test_timestamps_are_utc_with_microseconds(moment: datetime, text: str) -> None:
    assert rfc3339_utc(moment) == text

"""Pure outbox rules: the CloudEvents envelope, feed cursors and retry timing. No I/O."""

from __future__ import annotations

import base64
import binascii
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from wallet.errors import InvalidCursor

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
# Bumped when a data layout changes incompatibly; consumers branch on `dataschema`.
DATA_VERSION = 1
MAX_ROUTING_KEY_BYTES = 255  # AMQP short string
# W3C trace context, version 00: trace id and parent id must not be all zeros.
_TRACEPARENT = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")


class EventNotPublishable(Exception):
    """This row can never become a valid message; retrying cannot help."""


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One outbox row, as the publisher and the feed see it."""

    event_id: UUID
    event_type: str
    wallet_id: UUID
    sequence: int
    payload: Any
    trace_id: str
    created_at: datetime
    attempts: int = 0
    # The W3C trace context of the request that wrote the row, when it was traced.
    traceparent: str | None = None


def data_schema(event_type: str) -> str:
    return f"urn:wallet:events:{event_type}:v{DATA_VERSION}"


def stored_traceparent(event: OutboxEvent) -> str | None:
    """The trace context the event continues: its own column, else a trace id that is one.

    A traced request without ``X-Trace-Id`` takes its traceparent as its trace id, so the
    trace survives in ``trace_id`` until the posting writes the ``traceparent`` column too.
    """
    for candidate in (event.traceparent, event.trace_id):
        if candidate and _TRACEPARENT.match(candidate):
            return candidate
    return None


def build_envelope(
    event: OutboxEvent, *, source: str, traceparent: str | None = None
) -> dict[str, Any]:
    """The event as a CloudEvents 1.0 structured-mode JSON object.

    ``traceparent`` is the distributed-tracing extension: the consumer's span joins the trace
    that wrote the event. The feed passes the stored context, the publisher its own span's.
    """
    envelope = {
        "specversion": SPEC_VERSION,
        "id": str(event.event_id),
        "source": source,
        "type": event.event_type,
        "subject": str(event.wallet_id),
        "time": rfc3339_utc(event.created_at),
        "datacontenttype": "application/json",
        "dataschema": data_schema(event.event_type),
        "sequence": event.sequence,
        "traceid": event.trace_id,
        "data": event.payload,
    }
    if traceparent is not None:
        envelope["traceparent"] = traceparent
    return envelope


def encode_message(
    event: OutboxEvent, *, source: str, max_bytes: int, traceparent: str | None = None
) -> bytes:
    """The message body; refuses what the broker would refuse, so it can be dead-lettered."""
    if not event.event_type or len(event.event_type.encode()) > MAX_ROUTING_KEY_BYTES:
        raise EventNotPublishable(
            f"event type must be 1-{MAX_ROUTING_KEY_BYTES} bytes to serve as a routing key"
        )
    body = orjson.dumps(build_envelope(event, source=source, traceparent=traceparent))
    if len(body) > max_bytes:
        raise EventNotPublishable(f"message of {len(body)} bytes exceeds {max_bytes}")
    return body


def retry_delay(
    attempts: int, *, base_seconds: float, max_seconds: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter after ``attempts`` failures (1 = the first).

    Half the delay is fixed and half random, so retries spread out but never come early.
    """
    ceiling = min(max_seconds, base_seconds * 2.0 ** max(attempts - 1, 0))
    jitter = (rng or random).random()  # spreads retries; not a secret
    return ceiling / 2 + ceiling / 2 * jitter


@dataclass(frozen=True, slots=True, order=True)
class FeedPosition:
    """Where a feed reader stands: the last event it was given, in feed order (its
    transaction's feed position, then wallet and sequence within one transaction)."""

    feed_xid: int
    wallet_id: UUID
    sequence: int


@dataclass(frozen=True, slots=True)
class LegacyFeedPosition:
    """A cursor given out while events stored a row id (before migrations/0021): the
    (feed_xid, id) of the last event given, when one transaction's events went in id order."""

    feed_xid: int
    outbox_id: int


FEED_START = FeedPosition(0, UUID(int=0), 0)
# Past every event of a transaction: the largest wallet id and sequence there can be.
AFTER_ALL_OF_A_TRANSACTION = (UUID(int=2**128 - 1), 2**63 - 1)
_INT8_LIMIT = 2**63


def encode_feed_cursor(position: FeedPosition) -> str:
    text = f"e2:{position.feed_xid}:{position.wallet_id}:{position.sequence}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_feed_cursor(cursor: str | None) -> FeedPosition | LegacyFeedPosition:
    if cursor is None or cursor == "":
        return FEED_START
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, feed_xid, *rest = text.split(":")
        position = _position(version, int(feed_xid), rest)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor() from exc
    if not 0 <= position.feed_xid < _INT8_LIMIT:
        raise InvalidCursor()
    return position


def _position(version: str, feed_xid: int, rest: list[str]) -> FeedPosition | LegacyFeedPosition:
    if version == "e2" and len(rest) == 2:
        sequence = int(rest[1])
        if 0 <= sequence < _INT8_LIMIT:
            return FeedPosition(feed_xid, UUID(rest[0]), sequence)
    if version == "e1" and len(rest) == 1:
        outbox_id = int(rest[0])
        if 0 <= outbox_id < _INT8_LIMIT:
            return LegacyFeedPosition(feed_xid, outbox_id)
    raise ValueError("not a feed cursor")


def rfc3339_utc(moment: datetime) -> str:
    """The one timestamp form of every answer and event: UTC, microseconds, 'Z' (json_time in
    the database writes the same)."""
    # isoformat of the UTC time ends in "+00:00", which becomes "Z": the text strftime gave
    # (for years from 1000), at two thirds of its cost. It runs once per published event.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"
